"""What operators and users ask of the pool: hosts and their free capacity, VMs, pausing or resuming one.

Everyone sees every host's capacity; which VMs (and so which jobs) run where only admins see. A user sees
and moves only the VMs of its account's jobs: another account's VM is NotFound, as an unknown one is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.errors import NotFound, ValidationError
from app.hosts import vms
from app.wire import pages
from app.wire.pages import Page, PageRequest

# What a token was issued for: a token of one list is refused by another.
_HOSTS = {"list": "hosts"}


class VmControl(Protocol):
    """Signals a VM's processes (the supervisor does); False when the VM is not in the state to move from."""

    def pause(self, vm_id: str) -> bool: ...

    def resume(self, vm_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class HostView:
    """A host as one caller sees it: `vms` (its live VMs) only for admins, None for everyone else."""

    host: vms.HostCapacity
    vms: tuple[vms.VmInfo, ...] | None


def scope_of(caller: Caller) -> vms.AccountScope:
    """The VMs a caller may see: an admin every account's, anyone else its own account's."""
    return vms.ALL_ACCOUNTS if caller.is_admin else caller.account_id


class HostService:
    def __init__(self, *, sessions: sessionmaker[Session], vm_control: VmControl, isolation: str) -> None:
        self._sessions = sessions
        self._vm_control = vm_control
        self.isolation = isolation  # how VMs are isolated: `oci` or `process`

    def list_hosts(self, *, caller: Caller, page: PageRequest | None = None) -> Page[HostView]:
        """Hosts by name with their capacity and what their live VMs hold, a page at a time; to admins,
        also those VMs."""
        page = page or PageRequest()
        after = page.after(filters=_HOSTS, kinds=(str,))
        with self._sessions() as session:
            capacities = vms.capacities(session, after=None if after is None else after[0], limit=page.fetch)
            live = vms.infos(session, account_id=vms.ALL_ACCOUNTS, live=True) if caller.is_admin else None
        views = [
            HostView(host=c, vms=None if live is None else tuple(v for v in live if v.host == c.name))
            for c in capacities
        ]
        return pages.cut([([v.host.name], v) for v in views], request=page, filters=_HOSTS)

    def list_vms(
        self, *, caller: Caller, job_name: str | None = None, page: PageRequest | None = None
    ) -> Page[vms.VmInfo]:
        """The caller's VMs (an admin's: all) newest job first, a page at a time; only one job's when
        `job_name` is given."""
        page = page or PageRequest()
        filters = {"list": "vms", "job": job_name}
        after = page.after(filters=filters, kinds=(int, str, str))
        cursor = None if after is None else (after[0], after[1], after[2])
        with self._sessions() as session:
            found = vms.info_page(
                session, account_id=scope_of(caller), job_name=job_name, after=cursor, limit=page.fetch
            )
        return pages.cut([(list(c), vm) for c, vm in found], request=page, filters=filters)

    def get_vm(self, vm_id: str, *, caller: Caller) -> vms.VmInfo:
        """One of the caller's VMs; NotFound if it has none with this id."""
        with self._sessions() as session:
            found = vms.info(session, vm_id, account_id=scope_of(caller))
        if found is None:
            raise NotFound(f"No VM {vm_id}")
        return found

    def pause(self, vm_id: str, *, caller: Caller) -> vms.VmInfo:
        """SIGSTOP a Running VM's processes; its deadline keeps running."""
        return self._move(vm_id, caller, self._vm_control.pause, "is not Running, so it cannot be paused")

    def resume(self, vm_id: str, *, caller: Caller) -> vms.VmInfo:
        """SIGCONT a Paused VM's processes."""
        return self._move(vm_id, caller, self._vm_control.resume, "is not Paused, so it cannot be resumed")

    def _move(self, vm_id: str, caller: Caller, move: Callable[[str], bool], refusal: str) -> vms.VmInfo:
        self.get_vm(vm_id, caller=caller)  # an unknown (or another account's) VM is NotFound, not a refusal
        if not move(vm_id):
            raise ValidationError(f"VM {vm_id} {refusal}")
        return self.get_vm(vm_id, caller=caller)
