"""The SageMaker Python SDK, unchanged, against the real server over a socket: each SDK line runs in its
own virtual environment (`make sdk-venvs`), as a script, with the SDK's defaults; endpoints come from the
`AWS_ENDPOINT_URL_<SERVICE>` variables, as a user would set them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.sdk import SCRIPT_TIMEOUT, run_sdk
from tests.support.server import Server, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2 * SCRIPT_TIMEOUT)]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("sdk") / "data") as server:
        yield server


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
