"""The `sagelite` CLI against the real server: every command, `--output json` read back, exit codes, the
progress line of `jobs wait` (in a pseudo-terminal), and the messages for an unreachable server or an
unknown job. Most commands run in-process through `app.cli.run` (the same code the entry point runs);
the entry point itself and the pseudo-terminal run as subprocesses."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.cli import run
from app.client import SageMakerClient
from tests.conftest import create_request
from tests.support.polling import wait_until
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, free_port, running_server

pytestmark = pytest.mark.e2e

ENV = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.1", "SAGELITE_STOP_GRACE_SECONDS": "2"}
SAGELITE = Path(sys.executable).parent / "sagelite"
# The time a job has taken, as `jobs wait` shows it: any length, always H:MM:SS.
ELAPSED = r"elapsed \d+:[0-5]\d:[0-5]\d"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("cli") / "data", env=ENV) as server:
        yield server


@pytest.fixture
def cli(live: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """`cli(*argv)` → (exit code, stdout, stderr), against the live server via SAGELITE_ENDPOINT_URL."""
    monkeypatch.setenv("SAGELITE_ENDPOINT_URL", live.url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture(scope="module")
def client(live: Server) -> Iterator[SageMakerClient]:
    with SageMakerClient(
        endpoint_url=live.url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET
    ) as sagemaker:
        yield sagemaker


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 3))
    path = tmp_path_factory.mktemp("cli-data") / "train.csv"
    np.savetxt(path, np.column_stack([(x[:, 1] > 0).astype(float), x]), delimiter=",", fmt="%.5f")
    return path


def request_file(tmp_path: Path, name: str, *, epochs: int = 3, data: bool = True) -> Path:
    request = create_request(name, HyperParameters={"epochs": str(epochs), "hidden_layers": "8"})
    if data:
        channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://cli/train/"}}
        request["InputDataConfig"] = [{"ChannelName": "train", "DataSource": channel}]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(request))
    return path


def test_the_entry_point_lists_every_command() -> None:
    done = subprocess.run([str(SAGELITE), "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    for command in ("serve", "jobs", "hosts", "vms", "s3"):
        assert command in done.stdout
    jobs = subprocess.run([str(SAGELITE), "jobs", "--help"], capture_output=True, text=True, timeout=30)
    for command in ("create", "describe", "list", "stop", "delete", "logs", "wait", "download"):
        assert command in jobs.stdout


def test_s3_cp_both_ways_and_ls(cli: Any, dataset: Path, tmp_path: Path) -> None:
    code, out, _ = cli("s3", "cp", str(dataset), "s3://cli/train/")
    assert (code, out) == (0, f"upload: {dataset} to s3://cli/train/train.csv\n")
    code, out, _ = cli("s3", "cp", str(dataset), "s3://cli/other/copy.csv", "--output", "json")
    assert code == 0 and json.loads(out)["size"] == dataset.stat().st_size

    code, out, _ = cli("s3", "ls", "s3://cli/")
    assert code == 0 and "PRE train/" in out and "PRE other/" in out
    code, out, _ = cli("s3", "ls", "s3://cli/train/")
    assert code == 0 and out.split()[-2:] == [str(dataset.stat().st_size), "train.csv"]
    code, out, _ = cli("--output", "json", "s3", "ls", "s3://cli", "--recursive")
    assert [o["Key"] for o in json.loads(out)["Contents"]] == ["other/copy.csv", "train/train.csv"]

    code, out, _ = cli("s3", "cp", "s3://cli/train/train.csv", str(tmp_path))
    assert code == 0 and (tmp_path / "train.csv").read_bytes() == dataset.read_bytes()
    code, _, err = cli("s3", "cp", "s3://cli/train/missing.csv", str(tmp_path))
    assert code == 4 and err.startswith("sagelite: ") and err.count("\n") == 1
    code, _, err = cli("s3", "cp", "a", "b")
    assert code == 2 and "s3://" in err


def test_a_job_from_create_to_download(cli: Any, dataset: Path, tmp_path: Path) -> None:
    cli("s3", "cp", str(dataset), "s3://cli/train/")
    request = request_file(tmp_path, "cli-flow", epochs=5)
    code, out, _ = cli("jobs", "create", "--cli-input-json", f"file://{request}", "--output", "json")
    assert code == 0 and json.loads(out)["TrainingJobArn"].endswith("training-job/cli-flow")

    code, out, err = cli("jobs", "wait", "cli-flow", "--interval", "0.1")
    assert (code, out) == (0, "cli-flow Completed\n")
    assert re.search(rf"^cli-flow  Completed/Completed  {ELAPSED}\b", err, re.MULTILINE), err
    assert "train:loss=" in err

    code, out, _ = cli("jobs", "describe", "cli-flow")
    assert code == 0 and "Status:" in out and "Completed (Completed)" in out and "validation:accuracy=" in out
    code, out, _ = cli("jobs", "describe", "cli-flow", "--output", "json")
    described = json.loads(out)
    assert described["TrainingJobStatus"] == "Completed" and "ResponseMetadata" not in described
    assert described["CreationTime"].endswith("+00:00")

    code, out, _ = cli("jobs", "list")
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "STATUS", "SECONDARY", "CREATED", "ENDED"]
    assert any(row.split()[:2] == ["cli-flow", "Completed"] for row in rows)
    code, out, _ = cli("jobs", "list", "--status", "Completed", "--name-contains", "flow", "--output", "json")
    assert [s["TrainingJobName"] for s in json.loads(out)["TrainingJobSummaries"]] == ["cli-flow"]

    code, out, _ = cli("jobs", "logs", "cli-flow")
    assert code == 0 and out.count("#metric epoch=") == 5
    code, out, _ = cli("jobs", "logs", "cli-flow", "--follow")
    assert code == 0 and out.count("#metric epoch=") == 5

    code, out, _ = cli("jobs", "download", "cli-flow", "-o", str(tmp_path / "model"), "--unpack")
    assert code == 0 and Path(out.strip()) == tmp_path / "model"
    assert (tmp_path / "model" / "model.json").exists() and (tmp_path / "model" / "weights.npz").exists()
    code, out, _ = cli("jobs", "download", "cli-flow", "-o", str(tmp_path / "zip"), "--output", "json")
    assert Path(json.loads(out)["Path"]).name == "model.tar.gz"


def test_wait_exit_codes_follow_the_end_status(cli: Any, client: SageMakerClient, tmp_path: Path) -> None:
    cli("jobs", "create", "--cli-input-json", str(request_file(tmp_path, "cli-doomed", data=False)))
    code, out, err = cli("jobs", "wait", "cli-doomed", "--interval", "0.1")
    assert code == 5 and out.startswith("cli-doomed Failed: ") and "Failed/Failed" in err
    assert cli("jobs", "wait", "cli-doomed", "--ok-status", "Completed,Failed")[0] == 0
    code, _, err = cli("jobs", "wait", "cli-doomed", "--ok-status", "Done")
    assert code == 2 and "--ok-status" in err

    cli("jobs", "create", "--cli-input-json", str(request_file(tmp_path, "cli-long", epochs=1_000_000)))
    code, _, err = cli("jobs", "wait", "cli-long", "--interval", "0.1", "--timeout", "0.3")
    assert code == 8 and "still InProgress" in err
    code, _, err = cli("jobs", "delete", "cli-long")
    assert code == 1 and err.startswith("sagelite: ResourceInUse: ")
    code, out, _ = cli("jobs", "stop", "cli-long")
    assert code == 0 and out.startswith("cli-long: Stopping")
    assert cli("jobs", "wait", "cli-long", "--interval", "0.1")[0] == 6
    assert cli("jobs", "wait", "cli-long", "--ok-status", "Completed,Stopped")[0] == 0
    code, out, _ = cli("jobs", "delete", "cli-long", "--output", "json")
    assert code == 0 and json.loads(out) == {"TrainingJobName": "cli-long", "Deleted": True}
    assert cli("jobs", "describe", "cli-long")[0] == 4


def test_hosts_and_vms(
    cli: Any, client: SageMakerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")  # credentials from the environment sign the requests
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    code, out, _ = cli("hosts", "list")
    assert code == 0 and out.startswith("HOST ") and "VCPUS (FREE/TOTAL)" in out
    code, out, _ = cli("hosts", "list", "--output", "json")
    assert json.loads(out)["hosts"][0]["capacity"]["vcpus"] > 0

    cli("jobs", "create", "--cli-input-json", str(request_file(tmp_path, "cli-vm", epochs=1_000_000)))
    vm = _running_vm(cli, "cli-vm")
    code, out, _ = cli("vms", "pause", vm)
    assert (code, out) == (0, f"{vm}: Paused\n")
    code, out, _ = cli("vms", "resume", vm, "--output", "json")
    assert code == 0 and json.loads(out)["state"] == "Running"
    code, out, _ = cli("vms", "list", "--job", "cli-vm")
    assert out.split("\n")[0].split()[:3] == ["ID", "JOB", "HOSTNAME"] and vm in out
    client.stop_training_job(TrainingJobName="cli-vm")


def _running_vm(cli: Any, job: str) -> str:
    [vm] = wait_until(
        lambda: json.loads(cli("vms", "list", "--job", job, "--output", "json")[1])["vms"],
        until=lambda vms: vms and vms[0]["state"] == "Running",
        what=f"the VM of {job} to be running",
    )
    return str(vm["id"])


@pytest.mark.parametrize(
    "argv",
    [
        ("jobs", "describe", "nope"),
        ("jobs", "stop", "nope"),
        ("jobs", "delete", "nope"),
        ("jobs", "logs", "nope"),
        ("jobs", "wait", "nope"),
        ("jobs", "download", "nope"),
    ],
    ids=lambda argv: argv[1],
)
def test_an_unknown_job_is_one_line_and_exit_4(cli: Any, argv: tuple[str, ...]) -> None:
    code, out, err = cli(*argv)
    assert (code, out) == (4, "")
    assert err.startswith("sagelite: ") and "'nope'" in err and err.count("\n") == 1


def test_an_unreachable_server_is_one_line_and_exit_3(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    code, out, err = cli("--endpoint-url", nowhere, "jobs", "list")
    assert (code, out) == (3, "")
    assert err == (
        f"sagelite: cannot reach the sagelite server at {nowhere}: is it running? (`sagelite serve` starts "
        "one; --endpoint-url or $SAGELITE_ENDPOINT_URL points elsewhere)\n"
    )
    monkeypatch.setenv("SAGELITE_ENDPOINT_URL", nowhere)
    assert cli("hosts", "list")[0] == 3
    assert cli("jobs", "create", "--cli-input-json", str(request_file(tmp_path, "x")))[0] == 3


def test_bad_input_json(cli: Any, tmp_path: Path) -> None:
    code, _, err = cli("jobs", "create", "--cli-input-json", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err
    (tmp_path / "bad.json").write_text("{nope")
    code, _, err = cli("jobs", "create", "--cli-input-json", f"file://{tmp_path / 'bad.json'}")
    assert code == 2 and "not valid JSON" in err
    (tmp_path / "invalid.json").write_text(json.dumps(create_request("bad_name!")))
    code, _, err = cli("jobs", "create", "--cli-input-json", str(tmp_path / "invalid.json"))
    assert code == 1 and err.startswith("sagelite: ValidationException: ")


def test_wait_redraws_one_progress_line_in_a_terminal(
    live: Server, client: SageMakerClient, dataset: Path
) -> None:
    client.upload_file(dataset, "s3://cli/train/train.csv")
    request = json.loads(request_file(dataset.parent, "cli-tty", epochs=300).read_text())
    client.create_training_job(**request)
    master, slave = pty.openpty()
    env = {**os.environ, "SAGELITE_ENDPOINT_URL": live.url}
    command = [sys.executable, "-m", "app", "jobs", "wait", "cli-tty", "--interval", "0.1"]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    chunks: list[bytes] = []
    wait_until(lambda: _read_or_closed(master, chunks), what="`jobs wait` to close its terminal", interval=0)
    terminal = b"".join(chunks).decode()
    os.close(master)
    assert process.wait(timeout=30) == 0
    assert process.stdout is not None and process.stdout.read() == b"cli-tty Completed\n"
    redraws = terminal.replace("\r\n", "\n").split("\r")  # the terminal writes "\n" as "\r\n"
    assert len(redraws) >= 3 and redraws[0] == "" and terminal.endswith("\n")
    assert all("\n" not in frame for frame in redraws[:-1]), terminal
    last = redraws[-1].removesuffix("\n")
    assert re.match(rf"cli-tty  Completed/Completed  {ELAPSED}\b", last) and "\x1b[K" in last
    assert "train:loss=" in last


def _read_or_closed(fd: int, chunks: list[bytes]) -> bool:
    """Append what the terminal has to `chunks` (waiting at most half a second); True once it is closed."""
    ready, _, _ = select.select([fd], [], [], 0.5)
    if not ready:
        return False
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: the child closed the terminal
        return True
    chunks.append(data)
    return not data
