"""The VM-and-host repository: VM states, and every query over hosts and the VMs carved out of them.

Capacity in use is never stored: it is derived from the live VMs, so it cannot drift from them.
A VM belongs to its job's account: reads for a caller take an `AccountScope`, the caller's account or,
for operators only, `ALL_ACCOUNTS` spelled out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, true, tuple_, update
from sqlalchemy.orm import Session

from app.db.models import Host, TrainingJob, Vm
from app.hosts.pool import HostSpec
from app.jobs import repository as jobs_repository


class VmState(StrEnum):
    PROVISIONING = "Provisioning"  # reserved by the claim; its process is not started yet
    RUNNING = "Running"
    PAUSED = "Paused"
    TERMINATED = "Terminated"


LIVE = (VmState.PROVISIONING, VmState.RUNNING, VmState.PAUSED)


@dataclass(frozen=True, slots=True)
class AllAccounts:
    """Every account's VMs: what an operator (an admin caller) sees."""


ALL_ACCOUNTS = AllAccounts()
AccountScope = str | AllAccounts  # one account's id, or ALL_ACCOUNTS


@dataclass(frozen=True, slots=True)
class VmPlan:
    """One instance of a job (`algo-N`) to reserve on a host, with the resources it holds there."""

    id: str
    hostname: str
    host: str
    instance_type: str
    vcpus: float
    memory_gib: float
    gpus: int
    disk_gib: float


@dataclass(frozen=True, slots=True)
class Usage:
    """An amount of each resource: what VMs hold, or what a host has."""

    vcpus: float = 0.0
    memory_gib: float = 0.0
    gpus: float = 0.0
    disk_gib: float = 0.0

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.vcpus - other.vcpus,
            self.memory_gib - other.memory_gib,
            self.gpus - other.gpus,
            self.disk_gib - other.disk_gib,
        )


@dataclass(frozen=True, slots=True)
class HostCapacity:
    """A host's resources and what its live VMs hold; what is left is `free`."""

    name: str
    capacity: Usage
    allocated: Usage

    @property
    def free(self) -> Usage:
        return self.capacity - self.allocated


@dataclass(frozen=True, slots=True)
class VmInfo:
    """A VM as operators see it: where it runs, for which job, and how its process is doing."""

    id: str
    job: str
    account_id: str
    host: str
    instance_type: str
    hostname: str
    state: str
    pid: int | None
    exit_code: int | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None


def sync_hosts(session: Session, specs: Iterable[HostSpec]) -> None:
    """Make the hosts table match the configured pool; hosts still running VMs are kept."""
    wanted = _merge_hosts(session, specs)
    busy = select(Vm.host).where(Vm.state.in_(LIVE))
    session.execute(delete(Host).where(Host.name.not_in(wanted), Host.name.not_in(busy)))


def sync_vanishing_hosts(session: Session, specs: Iterable[HostSpec]) -> None:
    """As `sync_hosts`, for a pool whose hosts can vanish (a Ray cluster's nodes): a host gone from it keeps
    its row while any VM names it (live, or kept as history), with no capacity left to place anything on."""
    wanted = _merge_hosts(session, specs)
    gone = Host.name.not_in(wanted)
    session.execute(update(Host).where(gone).values(vcpus=0.0, memory_gib=0.0, gpus=0, disk_gib=0.0))
    session.execute(delete(Host).where(gone, Host.name.not_in(select(Vm.host))))


def _merge_hosts(session: Session, specs: Iterable[HostSpec]) -> list[str]:
    names = []
    for spec in specs:
        session.merge(
            Host(**{f: getattr(spec, f) for f in ("name", "vcpus", "memory_gib", "gpus", "disk_gib")})
        )
        names.append(spec.name)
    return names


def usage_by_host(session: Session) -> dict[str, Usage]:
    """Resources reserved by live VMs, per host: the only source of truth for capacity in use."""
    rows = session.execute(
        select(Vm.host, func.sum(Vm.vcpus), func.sum(Vm.memory_gib), func.sum(Vm.gpus), func.sum(Vm.disk_gib))
        .where(Vm.state.in_(LIVE))
        .group_by(Vm.host)
    )
    return {host: Usage(float(c), float(m), float(g), float(d)) for host, c, m, g, d in rows}


def count_by_state(session: Session) -> dict[str, int]:
    """How many VMs are in each state (terminated ones included: they are kept as history)."""
    rows = session.execute(select(Vm.state, func.count()).group_by(Vm.state))
    return {state: int(count) for state, count in rows}


def hosts(session: Session, *, after: str | None = None, limit: int | None = None) -> list[Host]:
    """Hosts by name; a page of them: `limit` hosts named after `after`."""
    statement = select(Host).order_by(Host.name).limit(limit)
    if after is not None:
        statement = statement.where(Host.name > after)
    return list(session.scalars(statement))


def live_vms(session: Session) -> list[Vm]:
    return list(session.scalars(select(Vm).where(Vm.state.in_(LIVE))))


def capacities(session: Session, *, after: str | None = None, limit: int | None = None) -> list[HostCapacity]:
    """Hosts by name (a page: `limit` of them named after `after`), with their capacity and what their
    live VMs hold."""
    usage = usage_by_host(session)
    return [
        HostCapacity(h.name, Usage(h.vcpus, h.memory_gib, h.gpus, h.disk_gib), usage.get(h.name, Usage()))
        for h in hosts(session, after=after, limit=limit)
    ]


# VmInfo's fields, the job's name among them; labelled so rows map onto the dataclass by name.
_VM_INFO = select(
    Vm.id,
    TrainingJob.name.label("job"),
    TrainingJob.account_id,
    Vm.host,
    Vm.instance_type,
    Vm.hostname,
    Vm.state,
    Vm.pid,
    Vm.exit_code,
    Vm.started_at,
    Vm.ended_at,
).join(TrainingJob, Vm.job_id == TrainingJob.id)


def _in_scope(account_id: AccountScope) -> ColumnElement[bool]:
    """The rows of the scope: one account's, or (spelled out as ALL_ACCOUNTS) every account's."""
    return true() if isinstance(account_id, AllAccounts) else TrainingJob.account_id == account_id


# Where a VM sits in the listing order: its job's row id (newest job first), then hostname and id. None of
# them ever changes, so pages stay stable while VMs start, stop and are added.
VmCursor = tuple[int, str, str]


def infos(
    session: Session, *, account_id: AccountScope, job_name: str | None = None, live: bool = False
) -> list[VmInfo]:
    """The scope's VMs, newest job first; only those of the jobs named `job_name` (any case), only live
    ones if `live`."""
    return [vm for _, vm in info_page(session, account_id=account_id, job_name=job_name, live=live)]


def info_page(
    session: Session,
    *,
    account_id: AccountScope,
    job_name: str | None = None,
    live: bool = False,
    after: VmCursor | None = None,
    limit: int | None = None,
) -> list[tuple[VmCursor, VmInfo]]:
    """As `infos`, a page of them: `limit` VMs after the cursor `after`, each with its own cursor."""
    statement = _VM_INFO.add_columns(Vm.job_id.label("job_id")).where(_in_scope(account_id))
    if job_name is not None:
        statement = statement.where(TrainingJob.name_key == jobs_repository.name_key(job_name))
    if live:
        statement = statement.where(Vm.state.in_(LIVE))
    if after is not None:
        job_id, hostname, vm_id = after
        statement = statement.where(
            or_(Vm.job_id < job_id, and_(Vm.job_id == job_id, tuple_(Vm.hostname, Vm.id) > (hostname, vm_id)))
        )
    rows = session.execute(statement.order_by(Vm.job_id.desc(), Vm.hostname, Vm.id).limit(limit))
    found = []
    for row in rows:
        fields = dict(row._mapping)
        job_id = fields.pop("job_id")
        found.append(((job_id, fields["hostname"], fields["id"]), VmInfo(**fields)))
    return found


def info(session: Session, vm_id: str, *, account_id: AccountScope) -> VmInfo | None:
    """One VM of the scope; None for an unknown id and for another account's VM alike."""
    row = session.execute(_VM_INFO.where(_in_scope(account_id), Vm.id == vm_id)).one_or_none()
    return None if row is None else VmInfo(**row._mapping)


def set_state(session: Session, vm_id: str, *, expected: Iterable[VmState], values: dict[str, Any]) -> bool:
    """Compare-and-set on the VM's state; False when another writer moved it first."""
    result = session.execute(update(Vm).where(Vm.id == vm_id, Vm.state.in_(tuple(expected))).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def terminate(session: Session, vm_id: str, *, now: dt.datetime, exit_code: int | None) -> None:
    set_state(
        session,
        vm_id,
        expected=LIVE,
        values={"state": VmState.TERMINATED, "ended_at": now, "exit_code": exit_code},
    )


def reserve(session: Session, *, job_id: int, plans: Iterable[VmPlan], deadline_at: dt.datetime) -> None:
    """Insert the claimed job's VMs: from now on their resources count as used on their hosts."""
    session.add_all(
        Vm(
            id=p.id,
            job_id=job_id,
            host=p.host,
            hostname=p.hostname,
            instance_type=p.instance_type,
            vcpus=p.vcpus,
            memory_gib=p.memory_gib,
            gpus=p.gpus,
            disk_gib=p.disk_gib,
            state=VmState.PROVISIONING,
            deadline_at=deadline_at,
        )
        for p in plans
    )


def mark_running(
    session: Session, vm_id: str, *, pid: int, started_at: dt.datetime, deadline_at: dt.datetime
) -> None:
    """The VM's process started: record its pid and the latest time its capacity comes back."""
    set_state(
        session,
        vm_id,
        expected=[VmState.PROVISIONING],
        values={
            "state": VmState.RUNNING,
            "pid": pid,
            "started_at": started_at,
            "deadline_at": deadline_at,
        },
    )


def terminate_all(session: Session, exit_codes: dict[str, int | None], *, now: dt.datetime) -> None:
    for vm_id, exit_code in exit_codes.items():
        terminate(session, vm_id, now=now, exit_code=exit_code)


def states_of(session: Session, vm_ids: Iterable[str]) -> dict[str, str]:
    """The recorded state of each of these VMs (a pause asked of another replica shows here first)."""
    rows = session.execute(select(Vm.id, Vm.state).where(Vm.id.in_(tuple(vm_ids))))
    return {vm_id: state for vm_id, state in rows}


def pid_of(session: Session, vm_id: str) -> int | None:
    return session.scalar(select(Vm.pid).where(Vm.id == vm_id))
