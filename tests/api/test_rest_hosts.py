"""`/v1/hosts` and `/v1/vms`: the JSON operators and the CLI read, and the problem documents they get.

Two accounts share the pool: the default one (its root key is an admin, `USER` is not) and `OTHER`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
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
from tests.support.callers import OTHER, OTHER_ACCOUNT, ROOT, USER, auth_for, client_as
from tests.support.rows import vm_row

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
VM_A = {
    "id": "vm-a",
    "job": "Job-1",
    "account_id": "123456789012",
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


@dataclass(frozen=True)
class Clients:
    root: TestClient  # the default account's admin
    user: TestClient  # a plain user of the default account
    other: TestClient  # a user of another account


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[Clients]:
    """Job-1 of the default account with VMs vm-a (Running) and vm-b (Terminated); the other account's
    Job-1 with vm-c (Running)."""
    hosts = tmp_path / "hosts.json"
    hosts.write_text(json.dumps([{"name": "h1", "vcpus": 8, "memory_gib": 32, "gpus": 1, "disk_gib": 100}]))
    settings = Settings(data_dir=tmp_path / "data", hosts_file=hosts, isolation="process")
    with TestClient(create_app(settings, clock=FakeClock(START))) as root:
        root.auth = auth_for(ROOT)
        user, other = client_as(root, USER), client_as(root, OTHER)
        assert user.post("/v1/training-jobs", json=create_request("Job-1")).status_code == 201
        other_role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/SageMakerRole"
        assert (
            other.post("/v1/training-jobs", json=create_request("Job-1", RoleArn=other_role)).status_code
            == 201
        )
        with root.app.state.services.sessions.begin() as session:  # type: ignore[attr-defined]
            session.add(_vm("vm-a", job_id=1, state=VmState.RUNNING, deadline=100))
            session.add(_vm("vm-b", job_id=1, state=VmState.TERMINATED, deadline=200))
            session.add(_vm("vm-c", job_id=2, state=VmState.RUNNING, deadline=50))
        yield Clients(root=root, user=user, other=other)


@pytest.fixture
def rest(clients: Clients) -> TestClient:
    return clients.user


def _vm(vm_id: str, *, job_id: int, state: VmState, deadline: int) -> Vm:
    return vm_row(
        vm_id,
        job_id=job_id,
        state=state,
        started_at=START,
        deadline_at=START + dt.timedelta(seconds=deadline),
    )


def test_hosts_show_capacity_allocated_and_free_to_everyone(clients: Clients) -> None:
    for client in (clients.user, clients.other):
        response = client.get("/v1/hosts")
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        # Every account's live VMs hold capacity; which VMs they are is not shown.
        assert response.content == (
            b'{"isolation":"process","hosts":[{"name":"h1",'
            b'"capacity":{"vcpus":8.0,"memory_gib":32.0,"gpus":1,"disk_gib":100.0},'
            b'"allocated":{"vcpus":4.0,"memory_gib":16.0,"gpus":0.0,"disk_gib":2.0},'
            b'"free":{"vcpus":4.0,"memory_gib":16.0,"gpus":1.0,"disk_gib":98.0}}]}'
        )


def test_only_admins_see_which_jobs_run_on_a_host(clients: Clients) -> None:
    (host,) = clients.root.get("/v1/hosts").json()["hosts"]
    assert host["allocated"]["vcpus"] == 4.0
    assert host["vms"] == [  # newest job first
        {"id": "vm-c", "job": "Job-1", "account_id": OTHER_ACCOUNT, "state": "Running"},
        {"id": "vm-a", "job": "Job-1", "account_id": "123456789012", "state": "Running"},
    ]


def test_each_account_lists_only_its_own_vms_and_an_admin_all(clients: Clients) -> None:
    assert [vm["id"] for vm in clients.user.get("/v1/vms").json()["vms"]] == ["vm-a", "vm-b"]
    assert [vm["id"] for vm in clients.other.get("/v1/vms").json()["vms"]] == ["vm-c"]
    assert [vm["id"] for vm in clients.other.get("/v1/vms", params={"job": "Job-1"}).json()["vms"]] == [
        "vm-c"
    ]
    # Newest job first (the other account's Job-1 was created second), then by hostname and id.
    assert [vm["id"] for vm in clients.root.get("/v1/vms").json()["vms"]] == ["vm-c", "vm-a", "vm-b"]


def test_another_accounts_vm_is_not_found(clients: Clients) -> None:
    assert clients.other.get("/v1/vms/vm-c").json()["account_id"] == OTHER_ACCOUNT
    for response in (
        clients.user.get("/v1/vms/vm-c"),
        clients.user.post("/v1/vms/vm-c/pause"),
        clients.user.post("/v1/vms/vm-c/resume"),
        clients.other.get("/v1/vms/vm-a"),
        clients.other.post("/v1/vms/vm-a/pause"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"] in ("No VM vm-c", "No VM vm-a")
    assert clients.root.get("/v1/vms/vm-c").status_code == 200  # an admin sees every account's


def test_vms_newest_job_first_and_by_job(rest: TestClient) -> None:
    listed = rest.get("/v1/vms").json()["vms"]
    assert [vm["id"] for vm in listed] == ["vm-a", "vm-b"]  # one job, one hostname: by id
    assert listed[0] == VM_A
    assert listed[1]["ended_at"] == "2026-01-01T00:00:00Z"
    assert [vm["id"] for vm in rest.get("/v1/vms", params={"job": "job-1"}).json()["vms"]] == ["vm-a", "vm-b"]
    assert rest.get("/v1/vms", params={"job": "other"}).json() == {"vms": []}


def test_vms_and_hosts_are_paginated_with_max_results_and_next_token(clients: Clients) -> None:
    first = clients.root.get("/v1/vms", params={"MaxResults": 2}).json()
    assert [vm["id"] for vm in first["vms"]] == ["vm-c", "vm-a"] and isinstance(first["NextToken"], str)
    second = clients.root.get("/v1/vms", params={"MaxResults": 2, "NextToken": first["NextToken"]}).json()
    assert second == {"vms": [clients.root.get("/v1/vms/vm-b").json()]}  # no NextToken on the last page
    assert "NextToken" not in clients.user.get("/v1/hosts", params={"MaxResults": 1}).json()


@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        ("/v1/vms", {"NextToken": "garbage"}, "Invalid pagination token"),
        ("/v1/vms", {"MaxResults": 0}, "MaxResults"),
        ("/v1/vms", {"MaxResults": 101}, "MaxResults"),
        ("/v1/hosts", {"NextToken": "e30"}, "Invalid pagination token"),  # base64 of {}
    ],
)
def test_bad_pages_are_400_problems(
    rest: TestClient, path: str, params: dict[str, object], detail: str
) -> None:
    response = rest.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "ValidationException" and detail in response.json()["detail"]


def test_a_token_of_one_filter_is_refused_with_another(rest: TestClient) -> None:
    token = rest.get("/v1/vms", params={"MaxResults": 1}).json()["NextToken"]
    response = rest.get("/v1/vms", params={"MaxResults": 1, "NextToken": token, "job": "other"})
    assert response.status_code == 400 and "filters" in response.json()["detail"]


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
