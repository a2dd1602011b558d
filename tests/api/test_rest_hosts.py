"""`/v1/hosts` and `/v1/vms`: the JSON operators and the CLI read, and the problem documents they get."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.clock import FakeClock
from app.config import Settings
from app.db.models import Vm
from app.hosts.vms import VmState
from app.main import create_app
from app.scheduler import loop
from tests.conftest import create_request
from tests.support.rows import vm_row

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
VM_A = {
    "id": "vm-a",
    "job": "Job-1",
    "host": "h1",
    "instance_type": "ml.m5.large",
    "hostname": "algo-1",
    "state": "Running",
    "pid": None,
    "exit_code": None,
    "started_at": "2026-01-01T00:00:00Z",
    "ended_at": None,
}


@pytest.fixture(autouse=True)
def jobs_stay_put(monkeypatch: pytest.MonkeyPatch) -> None:
    """No scheduler thread: the VMs below are the only ones, and nothing signals a real process."""
    monkeypatch.setattr(loop.Scheduler, "start", lambda self: None)


@pytest.fixture
def rest(tmp_path: Path) -> Iterator[TestClient]:
    hosts = tmp_path / "hosts.json"
    hosts.write_text(json.dumps([{"name": "h1", "vcpus": 8, "memory_gib": 32, "gpus": 1, "disk_gib": 100}]))
    settings = Settings(data_dir=tmp_path / "data", hosts_file=hosts, isolation="process")
    with TestClient(create_app(settings, clock=FakeClock(START))) as client:
        assert client.post("/v1/training-jobs", json=create_request("Job-1")).status_code == 201
        with client.app.state.services.sessions.begin() as session:  # type: ignore[attr-defined]
            session.add(_vm("vm-a", state=VmState.RUNNING, deadline=100))
            session.add(_vm("vm-b", state=VmState.TERMINATED, deadline=200))
        yield client


def _vm(vm_id: str, *, state: VmState, deadline: int) -> Vm:
    return vm_row(
        vm_id, job_id=1, state=state, started_at=START, deadline_at=START + dt.timedelta(seconds=deadline)
    )


def test_hosts_show_capacity_allocated_and_free(rest: TestClient) -> None:
    response = rest.get("/v1/hosts")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.content == (
        b'{"isolation":"process","hosts":[{"name":"h1",'
        b'"capacity":{"vcpus":8.0,"memory_gib":32.0,"gpus":1,"disk_gib":100.0},'
        b'"allocated":{"vcpus":2.0,"memory_gib":8.0,"gpus":0.0,"disk_gib":1.0},'
        b'"free":{"vcpus":6.0,"memory_gib":24.0,"gpus":1.0,"disk_gib":99.0}}]}'
    )


def test_vms_newest_first_and_by_job(rest: TestClient) -> None:
    listed = rest.get("/v1/vms").json()["vms"]
    assert [vm["id"] for vm in listed] == ["vm-b", "vm-a"]
    assert listed[1] == VM_A
    assert listed[0]["ended_at"] == "2026-01-01T00:00:00Z"
    assert [vm["id"] for vm in rest.get("/v1/vms", params={"job": "job-1"}).json()["vms"]] == ["vm-b", "vm-a"]
    assert rest.get("/v1/vms", params={"job": "other"}).json() == {"vms": []}


def test_one_vm_and_unknown_vms(rest: TestClient) -> None:
    assert rest.get("/v1/vms/vm-a").json() == VM_A
    for response in (
        rest.get("/v1/vms/vm-z"),
        rest.post("/v1/vms/vm-z/pause"),
        rest.post("/v1/vms/vm-z/resume"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "No VM vm-z"


def test_pausing_a_vm_without_a_process_is_refused(rest: TestClient) -> None:
    refused = rest.post("/v1/vms/vm-a/pause")
    assert refused.status_code == 400
    assert refused.json()["code"] == "ValidationException"
    assert refused.json()["detail"] == "VM vm-a is not Running, so it cannot be paused"
    not_paused = rest.post("/v1/vms/vm-b/resume").json()["detail"]
    assert not_paused == "VM vm-b is not Paused, so it cannot be resumed"
