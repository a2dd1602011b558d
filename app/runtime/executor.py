"""Where VM processes run. `Executor` is the seam for a distributed implementation; this is the local one.

Each VM is one process in its own session (so its whole process group can be signalled), started in the
VM's working directory, with stdout and stderr going to the VM's log file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    vm_id: str
    command: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    log_path: Path
    memory_bytes: int | None = None
    cpus: Sequence[int] = field(default_factory=tuple)


class Executor(Protocol):
    def launch(self, spec: LaunchSpec, on_exit: Callable[[], None]) -> int:
        """Start the VM's process; returns its pid. `on_exit` is called (from any thread) when it ends."""

    def signal(self, pid: int, sig: int) -> None:
        """Send `sig` to the VM's whole process group; a group that is gone is ignored."""

    def exit_code(self, pid: int) -> int | None:
        """The exit code (negative: killed by that signal), or None while it runs."""

    def release(self, pid: int) -> None:
        """Forget a process that has ended."""


class LocalExecutor:
    """Runs VMs as child processes of this server."""

    def __init__(self) -> None:
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def launch(self, spec: LaunchSpec, on_exit: Callable[[], None]) -> int:
        wrapper = [sys.executable, "-m", "app.runtime.launch"]
        if spec.memory_bytes:
            wrapper += ["--memory-bytes", str(spec.memory_bytes)]
        if spec.cpus:
            wrapper += ["--cpus", ",".join(str(c) for c in spec.cpus)]
        spec.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
            process = subprocess.Popen(
                [*wrapper, "--", *spec.command],
                cwd=spec.cwd,
                env=dict(spec.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with self._lock:
            self._processes[process.pid] = process
        threading.Thread(target=self._watch, args=(process, on_exit), daemon=True).start()
        return process.pid

    def signal(self, pid: int, sig: int) -> None:
        signal_group(pid, sig)

    def exit_code(self, pid: int) -> int | None:
        with self._lock:
            process = self._processes.get(pid)
        if process is None:
            return None if group_alive(pid) else -signal.SIGKILL
        return process.poll()

    def release(self, pid: int) -> None:
        with self._lock:
            self._processes.pop(pid, None)

    def _watch(self, process: subprocess.Popen[bytes], on_exit: Callable[[], None]) -> None:
        process.wait()
        on_exit()


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
