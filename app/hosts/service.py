"""What operators ask of the pool: hosts and their free capacity, VMs, and pausing or resuming one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

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


class HostService:
    def __init__(self, *, sessions: sessionmaker[Session], vm_control: VmControl) -> None:
        self._sessions = sessions
        self._vm_control = vm_control

    def list_hosts(self, page: PageRequest | None = None) -> Page[vms.HostCapacity]:
        """Hosts by name with their capacity and what their live VMs hold, a page at a time."""
        page = page or PageRequest()
        after = page.after(filters=_HOSTS, kinds=(str,))
        with self._sessions() as session:
            found = vms.capacities(session, after=None if after is None else after[0], limit=page.fetch)
        return pages.cut([([h.name], h) for h in found], request=page, filters=_HOSTS)

    def list_vms(self, *, job_name: str | None = None, page: PageRequest | None = None) -> Page[vms.VmInfo]:
        """VMs newest job first, a page at a time; only one job's when `job_name` is given."""
        page = page or PageRequest()
        filters = {"list": "vms", "job": job_name}
        after = page.after(filters=filters, kinds=(int, str, str))
        cursor = None if after is None else (after[0], after[1], after[2])
        with self._sessions() as session:
            found = vms.infos(session, job_name=job_name, after=cursor, limit=page.fetch)
        return pages.cut([(list(c), vm) for c, vm in found], request=page, filters=filters)

    def get_vm(self, vm_id: str) -> vms.VmInfo:
        """One VM; NotFound if no VM has this id."""
        with self._sessions() as session:
            found = vms.info(session, vm_id)
        if found is None:
            raise NotFound(f"No VM {vm_id}")
        return found

    def pause(self, vm_id: str) -> vms.VmInfo:
        """SIGSTOP a Running VM's processes; its deadline keeps running."""
        return self._move(vm_id, self._vm_control.pause, "is not Running, so it cannot be paused")

    def resume(self, vm_id: str) -> vms.VmInfo:
        """SIGCONT a Paused VM's processes."""
        return self._move(vm_id, self._vm_control.resume, "is not Paused, so it cannot be resumed")

    def _move(self, vm_id: str, move: Callable[[str], bool], refusal: str) -> vms.VmInfo:
        self.get_vm(vm_id)  # an unknown VM is NotFound, not a refusal
        if not move(vm_id):
            raise ValidationError(f"VM {vm_id} {refusal}")
        return self.get_vm(vm_id)
