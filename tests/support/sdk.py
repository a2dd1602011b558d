"""Run SageMaker Python SDK code, unchanged, against a real server: each SDK line lives in a virtual
environment of its own (`make sdk-venvs`: .venv-sdk2, .venv-sdk3), and the tests run scripts of
tests/e2e/sdk_scripts in it as subprocesses; endpoints come from the `AWS_ENDPOINT_URL_<SERVICE>`
variables, as a user would set them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.server import ROOT_KEY, ROOT_SECRET, Server

ROOT_DIR = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT_DIR / "tests" / "e2e" / "sdk_scripts"
# Services the SDKs call, each by the variable botocore reads for it (its service id, in capitals).
SERVICES = ("SAGEMAKER", "S3", "STS", "IAM", "CLOUDWATCH_LOGS", "CLOUDWATCH")
SCRIPT_TIMEOUT = 600
# The SDK's one change from its defaults: no telemetry, which it posts to a fixed AWS address.
SDK_CONFIG = """SchemaVersion: "1.0"
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


def sdk_python(line: int) -> Path:
    """The interpreter of the SDK line's virtual environment; missing fails under CI, skips elsewhere."""
    python = ROOT_DIR / f".venv-sdk{line}" / "bin" / "python"
    if not (ROOT_DIR / f".venv-sdk{line}" / ".installed").exists() or not python.exists():
        message = f"SDK v{line} environment missing: run `make sdk-venvs`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return python


def run_sdk(line: int, script: str, server: Server, *args: str, bucket: str) -> str:
    """Run the script in the SDK line's environment; return what it printed (stdout and stderr)."""
    home = server.data_dir.parent / "home"
    (home / ".config" / "sagemaker").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "sagemaker" / "config.yaml").write_text(SDK_CONFIG)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ROOT_KEY,
        "AWS_SECRET_ACCESS_KEY": ROOT_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(SCRIPTS),
        "SDK_TEST_BUCKET": bucket,
        **{f"AWS_ENDPOINT_URL_{service}": server.url for service in SERVICES},
    }
    done = subprocess.run(
        [str(sdk_python(line)), str(SCRIPTS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed[-4000:]
    return printed
