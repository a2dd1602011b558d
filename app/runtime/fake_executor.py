"""An in-memory Executor for tests: no process runs; the test decides when each VM exits and how.

`launch` records the LaunchSpec and hands out a fake pid. A VM ends when the test calls `finish(vm_id, code)`,
or when it is sent SIGTERM (exit -15, unless `ignore_sigterm` was called for it) or SIGKILL (exit -9).
Either way the `on_exit` callback given to `launch` is called, as LocalExecutor calls it from its watcher.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.runtime import contract, failures
from app.runtime.executor import LaunchSpec, LoopbackPeers, PlainFolders

FIRST_PID = 1 << 23  # above the kernel's largest pid_max (2**22): never a real process group


@dataclass
class FakeProcess:
    pid: int
    spec: LaunchSpec
    on_exit: Callable[[], None]
    exit_code: int | None = None
    ignores_sigterm: bool = False
    released: bool = False
    signals: list[int] = field(default_factory=list)


class FakeExecutor(PlainFolders, LoopbackPeers):
    """Records launches and signals; processes exit only when the test (or a fatal signal) says so."""

    def __init__(self) -> None:
        self._by_pid: dict[int, FakeProcess] = {}
        self._by_vm: dict[str, FakeProcess] = {}
        self._next_pid = FIRST_PID
        self._changed = threading.Condition()
        # When set, `launch` raises it instead of starting anything (a Popen that fails, a full disk).
        self.launch_error: Exception | None = None

    # -- the Executor protocol ---------------------------------------------------------------------

    isolation = "fake"
    enforces_volumes = False
    remote = False

    def pause(self, pid: int) -> None:
        self.signal(pid, signal.SIGSTOP)  # recorded as the process executor sends it

    def resume(self, pid: int) -> None:
        self.signal(pid, signal.SIGCONT)

    def out_of_memory(self, pid: int) -> bool:
        return False

    def reap(self, *, vm_id: str, pid: int | None) -> None:
        """Nothing outlives a fake server."""

    def sweep(self) -> None:
        """Nothing outlives a fake server."""

    def launch(self, spec: LaunchSpec, on_exit: Callable[[], None]) -> int:
        with self._changed:
            if self.launch_error is not None:
                raise self.launch_error
            pid = self._next_pid
            self._next_pid += 1
            process = FakeProcess(pid=pid, spec=spec, on_exit=on_exit)
            self._by_pid[pid] = process
            self._by_vm[spec.vm_id] = process
            self._changed.notify_all()
        return pid

    def signal(self, pid: int, sig: int) -> None:
        with self._changed:
            process = self._by_pid.get(pid)
            if process is None:
                return
            process.signals.append(sig)
            self._changed.notify_all()
            fatal = sig == signal.SIGKILL or (sig == signal.SIGTERM and not process.ignores_sigterm)
        if fatal:
            self._exit(process, -sig)

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            process = self._by_pid.get(pid)
            return None if process is None else process.exit_code

    def release(self, pid: int) -> None:
        with self._changed:
            process = self._by_pid.get(pid)
            if process is not None:
                process.released = True

    # -- what tests drive and inspect --------------------------------------------------------------

    def finish(self, vm_id: str, code: int = 0, *, report: bool = True) -> None:
        """The VM's process exits with `code` (negative: killed by that signal).

        With `report=False` the exit is not reported through `on_exit`: `exit_code` shows it, as it
        would before a real executor's watcher thread gets round to calling back.
        """
        with self._changed:
            process = self._by_vm[vm_id]
        self._exit(process, code, report=report)

    def lose_host(self, vm_id: str) -> None:
        """The VM's host dies under it: the failure a remote executor reports for it (its reason written
        where the VM's own would be), and the process is gone."""
        with self._changed:
            process = self._by_vm[vm_id]
        failure = contract.layout(process.spec.cwd).failure_file
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(
            f"{failures.HOST_LOST}{process.spec.host} left while {process.spec.hostname} ran\n"
        )
        self._exit(process, -signal.SIGKILL)

    def ignore_sigterm(self, vm_id: str) -> None:
        """The VM's process survives SIGTERM: only SIGKILL (or `finish`) ends it."""
        with self._changed:
            self._by_vm[vm_id].ignores_sigterm = True

    def process(self, vm_id: str) -> FakeProcess | None:
        with self._changed:
            return self._by_vm.get(vm_id)

    def signals(self, vm_id: str) -> list[int]:
        with self._changed:
            process = self._by_vm.get(vm_id)
            return [] if process is None else list(process.signals)

    def running(self) -> list[str]:
        """VM ids launched and not exited, in launch order."""
        with self._changed:
            return [vm_id for vm_id, p in self._by_vm.items() if p.exit_code is None]

    def wait_for(self, predicate: Callable[[FakeExecutor], bool], timeout: float) -> bool:
        """Block until `predicate(self)` holds after a launch, signal or exit, or `timeout` seconds pass."""
        give_up = time.monotonic() + timeout
        with self._changed:
            while True:
                if predicate(self):
                    return True
                remaining = give_up - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)

    def _exit(self, process: FakeProcess, code: int, *, report: bool = True) -> None:
        with self._changed:
            if process.exit_code is not None:
                return
            process.exit_code = code
            self._changed.notify_all()
        if report:
            process.on_exit()
