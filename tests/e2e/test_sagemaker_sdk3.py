"""The SageMaker Python SDK v3 line (`ModelTrainer`), unchanged, in its own virtual environment
(`make sdk-venvs`, pinned by tests/e2e/sdk3-constraints.txt), against the real server over a socket.

Script mode (`SourceCode`) runs the SDK's generated driver, which hard-codes `/opt/ml/...` paths: only the
OCI executor gives a VM that layout, so this module runs under it (skipped where runc cannot run, failed
under CI=true)."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.jobs import s3_client
from tests.support.sdk import SCRIPT_TIMEOUT, run_sdk
from tests.support.server import Server, running_server
from tests.support.vms import isolation, require_oci

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2 * SCRIPT_TIMEOUT)]
ENV = {"SAGELITE_ISOLATION": "oci", "SAGELITE_STOP_GRACE_SECONDS": "2"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_oci(networks=False)
    with running_server(tmp_path_factory.mktemp("sdk3") / "data", env=ENV) as server:
        assert isolation(server) == "oci"
        yield server


@pytest.fixture(autouse=True)
def _nothing_refused_as_unknown_or_failed(live: Server) -> Iterator[None]:
    # Whatever v3 sends, the server knows the operation and answers it without an internal error.
    yield
    lines = live.log.read_text(errors="replace").splitlines()
    assert not [line for line in lines if "unknown operation" in line or " status=5" in line]


def _job_line(printed: str) -> list[str]:
    [line] = [line for line in printed.splitlines() if line.startswith("JOB ")]
    return line.split()[1:]


def test_model_trainer_with_a_role_by_name_trains_and_prints_the_containers_log(live: Server) -> None:
    printed = run_sdk(3, "v3_model_trainer.py", live, bucket="sdk3-ll")
    assert "ROLE arn:aws:iam::123456789012:role/SageMakerRole" in printed, printed[-3000:]
    assert _job_line(printed)[1] == "Completed", printed[-3000:]
    # train()'s default logs tail the job's CloudWatch stream: the container's lines reach the SDK.
    assert "algo-1" in printed and "epoch" in printed.lower(), printed[-3000:]
    assert "Traceback" not in printed and "ERROR" not in printed, printed[-3000:]
    # The SDK swallows a failed role check (it logs it at DEBUG): the server's access log shows the answers.
    for operation in ("iam:GetRole", "iam:SimulatePrincipalPolicy", "DescribeLogStreams", "GetLogEvents"):
        assert _answered(live, operation), operation


def test_source_code_runs_the_sdks_driver_and_the_model_holds_what_the_script_read(
    live: Server, tmp_path: Path
) -> None:
    printed = run_sdk(3, "v3_source_code.py", live, "sdk3-script", "0", bucket="sdk3-script")
    name, status, _ = _job_line(printed)
    assert status == "Completed", printed[-3000:]
    assert "v3 entry epoch=2 rows=400" in printed, printed[-3000:]
    assert "Traceback" not in printed, printed[-3000:]
    [model_uri] = [line.split()[1] for line in printed.splitlines() if line.startswith("MODEL ")]
    assert model_uri == f"s3://sdk3-script/output/{name}/output/model.tar.gz"
    model = _model_json(live, model_uri, tmp_path)
    assert model == {"epochs": 3, "greeting": "hello v3", "rows": 400, "cwd": "/opt/ml/input/data/code"}


def test_a_stopping_condition_ends_a_long_job_as_max_runtime_exceeded(live: Server) -> None:
    printed = run_sdk(3, "v3_source_code.py", live, "sdk3-deadline", "600", "3", bucket="sdk3-deadline")
    _, status, secondary = _job_line(printed)
    assert (status, secondary) == ("Stopped", "MaxRuntimeExceeded"), printed[-3000:]
    # wait() ends quietly on Stopped (it raises only on Failed), having said so (rich markup and all).
    [final] = [line for line in printed.splitlines() if "Final Resource Status:" in line]
    assert final.endswith("Stopped"), final
    assert "Traceback" not in printed, printed[-3000:]


def _model_json(server: Server, uri: str, tmp_path: Path) -> object:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3 = s3_client(server.url)
    tarball = tmp_path / "model.tar.gz"
    s3.download_file(bucket, key, str(tarball))
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("model.json")
        assert member is not None, archive.getnames()
        return json.load(member)


def _answered(server: Server, operation: str) -> bool:
    """The server's access log holds a request for `operation` it answered with 200."""
    lines = server.log.read_text(errors="replace").splitlines()
    return any(f"operation={operation} " in line and "status=200" in line for line in lines)
