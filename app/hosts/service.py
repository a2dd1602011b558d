"""What operators ask of the pool: hosts and their free capacity, VMs, and pausing or resuming one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.errors import NotFound, ValidationError
from app.hosts import vms


class VmControl(Protocol):
    """Signals a VM's processes (the supervisor does); False when the VM is not in the state to move from."""

    def pause(self, vm_id: str) -> bool: ...

    def resume(self, vm_id: str) -> bool: ...


class HostService:
    def __init__(self, *, sessions: sessionmaker[Session], vm_control: VmControl, isolation: str) -> None:
        self._sessions = sessions
        self._vm_control = vm_control
        self.isolation = isolation  # how VMs are isolated: `oci` or `process`

    def list_hosts(self) -> list[vms.HostCapacity]:
        """Every host with its capacity and what its live VMs hold."""
        with self._sessions() as session:
            return vms.capacities(session)

    def list_vms(self, *, job_name: str | None = None) -> list[vms.VmInfo]:
        """VMs newest first; only one job's when `job_name` is given."""
        with self._sessions() as session:
            return vms.infos(session, job_name=job_name)

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
