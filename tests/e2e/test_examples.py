"""The worked examples run as a user runs them, against a real server, and their models predict well.

`ResourceConfig.VolumeSizeInGB` is 100 in the examples, so the server gets a hosts file with a 200 GiB
host: the test does not depend on this machine's free disk.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Server, running_server

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOSTS = [{"name": "h1", "vcpus": 8, "memory_gib": 32, "gpus": 0, "disk_gib": 200}]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("examples")
    hosts = root / "hosts.json"
    hosts.write_text(json.dumps(HOSTS))
    env = {"SAGELITE_HOSTS_FILE": str(hosts), "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.1"}
    with running_server(root / "data", env=env) as server:
        yield server


@pytest.mark.parametrize("script", ["train_tabular.py", "train_tabular_boto3.py"])
def test_example_trains_downloads_and_predicts(live: Server, tmp_path: Path, script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--endpoint-url", live.url, "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Completed/Completed" in done.stdout
    found = re.search(r"held-out accuracy: ([0-9.]+) on 400 rows", done.stdout)
    assert found is not None, done.stdout
    assert float(found.group(1)) > 0.85
    assert (tmp_path / "model" / "model.json").exists() and (tmp_path / "model" / "weights.npz").exists()
