"""The VMs' cgroups: one parent holding every VM of every server on this machine, capped below the
machine's memory, and what a server reads back from a VM's own cgroup (its out-of-memory kills, its
processes, its CPU time).

runc creates and removes each VM's cgroup (`sagelite/<server key>-<vm_id>`) from the limits in its config;
this module owns only the parent and the reading, and sweeps what a crashed server left (the cgroups
with its key). cgroup v1 (a hierarchy per
controller) and v2 (one unified hierarchy) are both read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
# The controllers a VM's limits use; v2 enables them for the parent's children.
_V2_CONTROLLERS = ("cpu", "cpuset", "memory", "pids")


def unified(root: Path = ROOT) -> bool:
    """cgroup v2 (one hierarchy) rather than v1 (one per controller)."""
    return (root / "cgroup.controllers").is_file()


@dataclass(frozen=True, slots=True)
class Cgroups:
    """One server's VM cgroups (named `<prefix><vm_id>`) under the shared parent, on v1 or v2."""

    prefix: str
    parent: str = "sagelite"
    root: Path = ROOT

    @property
    def v2(self) -> bool:
        return unified(self.root)

    def runc_path(self, vm_id: str) -> str:
        """The VM's `linux.cgroupsPath` for runc: absolute, from the hierarchy's root."""
        return f"/{self.parent}/{self.prefix}{vm_id}"

    def ensure_parent(self, *, memory_limit_bytes: int) -> None:
        """Create the parent and cap what all VMs together may use."""
        if self.v2:
            self._enable_v2_controllers()
            (self.root / self.parent).mkdir(parents=True, exist_ok=True)
            _write(self.root / self.parent / "memory.max", str(memory_limit_bytes))
        else:
            memory = self.root / "memory" / self.parent
            memory.mkdir(parents=True, exist_ok=True)
            _write(memory / "memory.limit_in_bytes", str(memory_limit_bytes))

    def oom_kills(self, vm_id: str) -> int:
        """Processes the kernel's OOM killer ended in this VM because it reached its memory limit."""
        if self.v2:
            return _field(self._dir("", vm_id) / "memory.events", "oom_kill")
        return _field(self._dir("memory", vm_id) / "memory.oom_control", "oom_kill")

    def processes(self, vm_id: str) -> list[int]:
        """Host pids of every process in the VM's cgroup (none once it is gone)."""
        return _pids(self._dir("" if self.v2 else "pids", vm_id))

    def cpu_seconds(self, vm_id: str) -> float:
        """CPU time the VM's processes have used."""
        if self.v2:
            return _field(self._dir("", vm_id) / "cpu.stat", "usage_usec") / 1e6
        return int(_read(self._dir("cpuacct", vm_id) / "cpuacct.usage") or 0) / 1e9

    def frozen(self, vm_id: str) -> bool:
        """True while the VM's processes are frozen (paused)."""
        if self.v2:
            return _field(self._dir("", vm_id) / "cgroup.events", "frozen") == 1
        return _read(self._dir("freezer", vm_id) / "freezer.state").strip() == "FROZEN"

    def freeze(self, vm_id: str, *, timeout: float = 5.0) -> None:
        """Freeze every process of the VM and return once the kernel says they are (what `runc pause`
        does, without its fork, exec and state file: a pause is then a write and a few reads)."""
        if self.v2:
            _write(self._dir("", vm_id) / "cgroup.freeze", "1")
            _await(lambda: self.frozen(vm_id), timeout=timeout)
            return
        state = self._dir("freezer", vm_id) / "freezer.state"

        def frozen_now() -> bool:
            # v1 may stay FREEZING while a task is busy in the kernel; writing FROZEN again retries it.
            _write(state, "FROZEN")
            return self.frozen(vm_id)

        _await(frozen_now, timeout=timeout)

    def thaw(self, vm_id: str) -> None:
        """Let a frozen VM run again (nothing happens to one that is not frozen)."""
        for directory in self._vm_dirs(vm_id):
            _thaw(directory, v2=self.v2)

    def exists(self, vm_id: str) -> bool:
        return any(directory.is_dir() for directory in self._vm_dirs(vm_id))

    def leftovers(self) -> list[str]:
        """The VMs of this server that still have a cgroup (in any hierarchy)."""
        names: set[str] = set()
        for parent in self._parents():
            with contextlib.suppress(OSError):
                names |= {c.name for c in parent.iterdir() if c.is_dir() and c.name.startswith(self.prefix)}
        return sorted(name.removeprefix(self.prefix) for name in names)

    def remove(self, vm_id: str, *, timeout: float = 5.0) -> None:
        """Thaw, kill every process in, and remove the VM's cgroup in every hierarchy (after a crash)."""
        directories = list(self._vm_dirs(vm_id))
        for directory in directories:
            _thaw(directory, v2=self.v2)
        for directory in directories:
            _kill_all(directory, timeout=timeout)
            with contextlib.suppress(OSError):
                directory.rmdir()

    # -- paths -------------------------------------------------------------------------------------

    def _dir(self, controller: str, vm_id: str) -> Path:
        return self.root / controller / self.parent / f"{self.prefix}{vm_id}"

    def _parents(self) -> Iterator[Path]:
        if self.v2:
            yield self.root / self.parent
            return
        with contextlib.suppress(OSError):
            for hierarchy in self.root.iterdir():
                if (hierarchy / self.parent).is_dir():
                    yield hierarchy / self.parent

    def _vm_dirs(self, vm_id: str) -> Iterator[Path]:
        for parent in self._parents():
            if (parent / f"{self.prefix}{vm_id}").is_dir():
                yield parent / f"{self.prefix}{vm_id}"

    def _enable_v2_controllers(self) -> None:
        # Each level down to the parent must hand its controllers to its children.
        path = self.root
        for part in Path(self.parent).parts:
            available = set(_read(path / "cgroup.controllers").split())
            wanted = " ".join(f"+{c}" for c in _V2_CONTROLLERS if c in available)
            with contextlib.suppress(OSError):
                _write(path / "cgroup.subtree_control", wanted)
            path = path / part
            path.mkdir(exist_ok=True)
        available = set(_read(path / "cgroup.controllers").split())
        with contextlib.suppress(OSError):
            _write(
                path / "cgroup.subtree_control", " ".join(f"+{c}" for c in _V2_CONTROLLERS if c in available)
            )


def _thaw(directory: Path, *, v2: bool) -> None:
    with contextlib.suppress(OSError):
        if v2:
            _write(directory / "cgroup.freeze", "0")
        elif (directory / "freezer.state").exists():
            _write(directory / "freezer.state", "THAWED")


def _await(done: Callable[[], bool], *, timeout: float) -> None:
    give_up = time.monotonic() + timeout
    while not done():
        if time.monotonic() > give_up:
            raise TimeoutError("the VM's cgroup did not freeze in time")
        time.sleep(0.001)


def _kill_all(directory: Path, *, timeout: float) -> None:
    give_up = time.monotonic() + timeout
    while (pids := _pids(directory)) and time.monotonic() < give_up:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def _pids(directory: Path) -> list[int]:
    return [int(line) for line in _read(directory / "cgroup.procs").split()]


def _field(path: Path, name: str) -> int:
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return int(value)
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    path.write_text(value)
