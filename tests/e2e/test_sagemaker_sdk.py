"""The SageMaker Python SDK, unchanged, against the real server over a socket: each SDK line runs in its
own virtual environment (`make sdk-venvs`), as a script, with the SDK's defaults; endpoints come from the
`AWS_ENDPOINT_URL_<SERVICE>` variables, as a user would set them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server

ROOT_DIR = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "sdk_scripts"
# Services the SDKs call, each by the variable botocore reads for it (its service id, in capitals).
SERVICES = ("SAGEMAKER", "S3", "STS", "IAM", "CLOUDWATCH_LOGS", "CLOUDWATCH")
SCRIPT_TIMEOUT = 600
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2 * SCRIPT_TIMEOUT)]
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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("sdk") / "data") as server:
        yield server


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


def test_v2_linear_learner_fit_prints_the_containers_log_and_attach_logs_replays_it(live: Server) -> None:
    printed = run_sdk(2, "v2_linear_learner.py", live, bucket="sdk-v2-ll")
    fit, _, attached = printed.partition("ATTACH-LOGS-BEGIN")
    assert "Completed - Training job completed" in fit
    assert "algo-1" in fit and "epoch" in fit.lower(), fit[-3000:]
    assert "epoch" in attached.lower(), attached[-3000:]
    assert "Traceback" not in printed and "ERROR" not in printed, printed[-3000:]


@pytest.mark.parametrize("instances", ["1", "3"])
def test_v2_spot_summary_prints_non_negative_savings(live: Server, instances: str) -> None:
    printed = run_sdk(2, "v2_spot_summary.py", live, instances, bucket=f"sdk-spot-{instances}")
    [savings] = [line for line in printed.splitlines() if "Managed Spot Training savings" in line]
    assert not savings.split(":")[1].strip().startswith("-"), savings
    assert "quick job done" in printed
    assert "Traceback" not in printed, printed[-3000:]


def test_v2_hyperparameter_tuner_fits_waits_ranks_attaches_and_stops(live: Server) -> None:
    trials, parallel = 4, 2
    printed = run_sdk(2, "v2_tuner.py", live, str(trials), str(parallel), bucket="sdk-v2-tuner")
    assert "Traceback" not in printed, printed[-3000:]
    values = dict(line.split(" ", 1) for line in printed.splitlines() if line.split(" ", 1)[0].isupper())
    rows = [json.loads(line[4:]) for line in printed.splitlines() if line.startswith("ROW ")]
    # Every trial a row, each with its tuned values cast to numbers as the SDK casts them, and its objective.
    assert len(rows) == trials, rows
    assert {row["TrainingJobStatus"] for row in rows} == {"Completed"}, rows
    assert all(row["TrainingJobName"].startswith(values["TUNING"] + "-") for row in rows), rows
    assert all(0.001 <= row["learning_rate"] <= 0.5 and 10 <= row["mini_batch_size"] <= 200 for row in rows)
    assert all(row["TrainingElapsedTimeSeconds"] > 0 for row in rows), rows
    best_objective = max(row["FinalObjectiveValue"] for row in rows)
    best_rows = [row["TrainingJobName"] for row in rows if row["FinalObjectiveValue"] == best_objective]
    assert values["BEST"] in best_rows and values["ATTACHED-BEST"] == values["BEST"], (values, rows)
    assert values["ATTACHED-OBJECTIVE"].split() == [
        "validation:binary_classification_accuracy",
        str(trials),
        str(parallel),
    ]
    stopped = [line for line in printed.splitlines() if line.startswith("STOPPED")]
    assert values["STOPPED-STATUS"] == "Stopped", stopped
    assert int(values["STOPPED-LAUNCHED"]) < 4 * trials, stopped


def test_the_scripts_run_in_their_own_environments_not_ours() -> None:
    # The SDK is not importable here: what the tests above show is the SDK's own behaviour.
    assert subprocess.run([sys.executable, "-c", "import sagemaker"], capture_output=True).returncode != 0
