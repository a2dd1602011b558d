"""HostService over a real SQLite file: capacity derived from live VMs, VM listings, pause and resume,
each as one caller sees it (the default account's jobs own vm-a..vm-c, another account's vm-d)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Vm
from app.errors import NotFound, ValidationError
from app.hosts import vms
from app.hosts.pool import HostSpec
from app.hosts.service import HostService
from app.hosts.vms import Usage, VmState
from app.wire.pages import PageRequest
from tests.support.callers import OTHER, OTHER_ACCOUNT, ROOT, USER
from tests.support.rows import vm_row

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOSTS = [HostSpec("h1", 8, 32, 1, 100), HostSpec("h2", 4, 16, 0, 50)]


class RecordingControl:
    """Stands in for the supervisor: records each signal and answers `accepts`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.accepts = True

    def pause(self, vm_id: str) -> bool:
        self.calls.append(("pause", vm_id))
        return self.accepts

    def resume(self, vm_id: str) -> bool:
        self.calls.append(("resume", vm_id))
        return self.accepts


@pytest.fixture
def control() -> RecordingControl:
    return RecordingControl()


@pytest.fixture
def service(
    sessions: sessionmaker[Session], create_job: Callable[..., int], control: RecordingControl
) -> HostService:
    first, second, theirs = create_job("job-1"), create_job("Job-2"), create_job("job-1", OTHER)
    with sessions.begin() as session:
        vms.sync_hosts(session, HOSTS)
        session.add_all(
            [
                _vm("vm-a", first, state=VmState.RUNNING, deadline=100, pid=11),
                _vm("vm-b", second, state=VmState.TERMINATED, deadline=200, exit_code=0),
                _vm("vm-c", second, state=VmState.PAUSED, deadline=200, pid=12, host="h2", hostname="algo-2"),
                _vm("vm-d", theirs, state=VmState.RUNNING, deadline=50, pid=13, host="h2"),
            ]
        )
    return HostService(sessions=sessions, vm_control=control, isolation="process")


def _vm(vm_id: str, job_id: int, *, deadline: int, **given: Any) -> Vm:
    at = START + dt.timedelta(seconds=deadline)
    return vm_row(vm_id, job_id=job_id, started_at=START, deadline_at=at, **given)


def test_hosts_count_only_live_vms_as_allocated(service: HostService) -> None:
    h1, h2 = (view.host for view in service.list_hosts(caller=USER).items)
    assert (h1.name, h1.capacity, h1.allocated) == ("h1", Usage(8, 32, 1, 100), Usage(2, 8, 0, 1))
    assert h1.free == Usage(6, 24, 1, 99)
    # Every account's live VMs count: capacity is shared.
    assert (h2.name, h2.allocated, h2.free) == ("h2", Usage(4, 16, 0, 2), Usage(0, 0, 0, 48))


def test_only_admins_see_the_vms_on_each_host(service: HostService) -> None:
    assert [view.vms for view in service.list_hosts(caller=USER).items] == [None, None]
    assert [view.vms for view in service.list_hosts(caller=OTHER).items] == [None, None]
    h1, h2 = service.list_hosts(caller=ROOT).items
    assert [vm.id for vm in h1.vms or ()] == ["vm-a"]
    assert [(vm.id, vm.account_id) for vm in h2.vms or ()] == [  # newest job first
        ("vm-d", OTHER_ACCOUNT),
        ("vm-c", ROOT.account_id),
    ]


def test_vms_are_listed_newest_first_with_their_job(service: HostService) -> None:
    assert [(vm.id, vm.job) for vm in service.list_vms(caller=USER).items] == [
        ("vm-b", "Job-2"),
        ("vm-c", "Job-2"),
        ("vm-a", "job-1"),
    ]
    assert [vm.id for vm in service.list_vms(caller=USER, job_name="job-2").items] == ["vm-b", "vm-c"]
    assert service.list_vms(caller=USER, job_name="job-3").items == []


def test_vms_come_in_pages_that_neither_skip_nor_repeat(
    service: HostService, sessions: sessionmaker[Session], create_job: Callable[..., int]
) -> None:
    first = service.list_vms(caller=USER, page=PageRequest(max_results=2))
    assert [vm.id for vm in first.items] == ["vm-b", "vm-c"] and first.next_token
    # A VM of a newer job arrives between the pages: it belongs before the cursor, so the walk goes on.
    with sessions.begin() as session:
        session.add(_vm("vm-e", create_job("job-3"), state=VmState.RUNNING, deadline=50))
    second = service.list_vms(caller=USER, page=PageRequest(max_results=2, next_token=first.next_token))
    assert ([vm.id for vm in second.items], second.next_token) == (["vm-a"], None)


def test_a_token_is_refused_with_other_filters_or_corrupt(service: HostService) -> None:
    token = service.list_vms(caller=USER, page=PageRequest(max_results=1)).next_token
    with pytest.raises(ValidationError, match="filters"):
        service.list_vms(caller=USER, job_name="job-2", page=PageRequest(max_results=1, next_token=token))
    with pytest.raises(ValidationError, match="Invalid pagination token"):
        service.list_vms(caller=USER, page=PageRequest(next_token="not-a-token"))
    with pytest.raises(ValidationError, match="filters"):
        service.list_hosts(caller=USER, page=PageRequest(next_token=token))  # a VM cursor is no host cursor


def test_hosts_come_in_pages_by_name(service: HostService) -> None:
    first = service.list_hosts(caller=ROOT, page=PageRequest(max_results=1))
    assert [h.host.name for h in first.items] == ["h1"] and [vm.id for vm in first.items[0].vms or ()] == [
        "vm-a"
    ]
    second = service.list_hosts(caller=ROOT, page=PageRequest(max_results=1, next_token=first.next_token))
    assert ([h.host.name for h in second.items], second.next_token) == (["h2"], None)


def test_each_account_lists_its_own_vms_and_an_admin_every_accounts(service: HostService) -> None:
    assert [vm.id for vm in service.list_vms(caller=OTHER).items] == ["vm-d"]
    assert [vm.id for vm in service.list_vms(caller=USER, job_name="job-1").items] == ["vm-a"]
    assert [vm.id for vm in service.list_vms(caller=OTHER, job_name="job-1").items] == ["vm-d"]
    assert [vm.id for vm in service.list_vms(caller=ROOT, job_name="job-1").items] == ["vm-d", "vm-a"]


def test_another_accounts_vm_is_not_found_and_never_signalled(
    service: HostService, control: RecordingControl
) -> None:
    for move in (service.get_vm, service.pause, service.resume):
        with pytest.raises(NotFound, match="No VM vm-d"):
            move("vm-d", caller=USER)
        with pytest.raises(NotFound, match="No VM vm-a"):
            move("vm-a", caller=OTHER)
    assert control.calls == []
    assert service.get_vm("vm-d", caller=ROOT).account_id == OTHER_ACCOUNT


def test_one_vm_or_not_found(service: HostService) -> None:
    vm = service.get_vm("vm-a", caller=USER)
    assert vm == vms.VmInfo(
        id="vm-a",
        job="job-1",
        account_id=ROOT.account_id,
        host="h1",
        instance_type="ml.m5.large",
        hostname="algo-1",
        state="Running",
        pid=11,
        exit_code=None,
        started_at=START,
        ended_at=None,
    )
    with pytest.raises(NotFound, match="No VM vm-z"):
        service.get_vm("vm-z", caller=USER)


def test_pause_and_resume_go_through_the_control(service: HostService, control: RecordingControl) -> None:
    assert service.pause("vm-a", caller=USER).id == "vm-a"
    assert service.resume("vm-c", caller=USER).id == "vm-c"
    control.accepts = False
    with pytest.raises(ValidationError, match="VM vm-b is not Running, so it cannot be paused"):
        service.pause("vm-b", caller=USER)
    with pytest.raises(ValidationError, match="VM vm-b is not Paused, so it cannot be resumed"):
        service.resume("vm-b", caller=USER)
    with pytest.raises(NotFound):
        service.pause("vm-z", caller=USER)
    assert control.calls == [("pause", "vm-a"), ("resume", "vm-c"), ("pause", "vm-b"), ("resume", "vm-b")]
