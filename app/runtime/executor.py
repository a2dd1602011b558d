"""How VM processes run. `Executor` is the seam; `LocalExecutor` is the portable one (`process` isolation),
`app.runtime.oci.executor.OciExecutor` the sandboxed one (`oci`).

Here each VM is one process in its own session (so its whole process group can be signalled), started in
the VM's working directory, with stdout and stderr going to the VM's log file (through the launch wrapper's
pump when the log is capped: see `app.runtime.launch`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.runtime.channels import Fetch

from app.runtime import log_times, rendezvous
from app.runtime.rendezvous import Rendezvous


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    vm_id: str
    command: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    log_path: Path
    memory_bytes: int | None = None
    cpus: Sequence[int] = field(default_factory=tuple)
    # The most of the VM's output its log keeps; past it, a marker line, and the rest is discarded.
    max_log_bytes: int | None = None
    # What a sandbox needs beyond a process: the VM's host name, its job's hosts (one network per job),
    # its vCPUs (a CPU quota), its GPUs (devices) and whether the job is network-isolated.
    hostname: str = "algo-1"
    job_key: str = ""
    hosts: Sequence[str] = ("algo-1",)
    vcpus: float = 1.0
    gpus: Sequence[int] = field(default_factory=tuple)
    network_isolated: bool = False
    # What a VM on another machine needs: the host it was placed on, the channel objects it downloads
    # itself (see `remote`), and its deadline (epoch seconds) for the node to enforce should the server
    # be gone.
    host: str = ""
    fetches: Sequence[Fetch] = ()
    checkpoint_fetches: Sequence[Fetch] = ()  # the saved checkpoints it restores itself, likewise
    deadline_at: float | None = None
    # Where the node puts the VM's results (model, output, checkpoints) for the server to take, through
    # the server's S3 API as the job (an s3:// URI under the job's output path; empty: no such place).
    results_uri: str = ""
    # The VM is killed when the process that started it dies (a Ray node's agent: nothing outlives it).
    die_with_parent: bool = False


class Executor(Protocol):
    @property
    def isolation(self) -> str:
        """`process` or `oci`: what /v1/hosts and the startup log report."""
        ...

    @property
    def remote(self) -> bool:
        """True when VMs run on other machines: the run then plans the channels (`LaunchSpec.fetches`)
        rather than downloading them into the server's folder."""
        ...

    @property
    def enforces_volumes(self) -> bool:
        """True when a VM's disk is a real volume of its size (no need to poll how much it wrote)."""
        ...

    def view_of(self, root: Path) -> Path:
        """Where the VM itself sees its directory `root` (its /opt/ml)."""
        ...

    def rendezvous(self, *, hosts: Sequence[str], placed_on: Sequence[str] = ()) -> Rendezvous:
        """Where the VMs of one job (`hosts`, algo-1 first) meet for collective training; `placed_on`
        names the pool host each of them runs on, in the same order (empty: not known)."""
        ...

    def server_url(self, local_url: str) -> str:
        """Where the VMs reach the server that this machine reaches at `local_url`."""
        ...

    def provision(self, *, vm_id: str, root: Path, disk_gib: float) -> None:
        """Make the VM's disk at `root`, before its contract and channels are written there."""

    def discard(self, *, vm_id: str, root: Path) -> None:
        """After the run (and the upload): remove the VM's disk and everything made for it."""

    def launch(self, spec: LaunchSpec, on_exit: Callable[[], None]) -> int:
        """Start the VM's process; returns its pid. `on_exit` is called (from any thread) when it ends."""

    def signal(self, pid: int, sig: int) -> None:
        """Send `sig` to the VM's whole process group; a group that is gone is ignored."""

    def pause(self, pid: int) -> None:
        """Freeze every process of the VM."""

    def resume(self, pid: int) -> None:
        """Thaw a paused VM (nothing happens to one that is not paused)."""

    def exit_code(self, pid: int) -> int | None:
        """The exit code (negative: killed by that signal), or None while it runs."""

    def out_of_memory(self, pid: int) -> bool:
        """True when the VM's memory limit made the kernel kill one of its processes."""
        ...

    def release(self, pid: int) -> None:
        """Forget a process that has ended."""

    def reap(self, *, vm_id: str, pid: int | None) -> None:
        """At startup: kill a VM a previous server process left running."""

    def sweep(self) -> None:
        """At startup, once the VMs of a previous server process are reaped: remove what they left."""


class PlainFolders:
    """VM folders as plain directories of the host, seen by the VM where they are (no volume to mount):
    the folder side of the `Executor` protocol for executors without a sandbox."""

    def view_of(self, root: Path) -> Path:
        return root

    def server_url(self, local_url: str) -> str:
        return local_url  # the VMs share the host's network

    def provision(self, *, vm_id: str, root: Path, disk_gib: float) -> None:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def discard(self, *, vm_id: str, root: Path) -> None:
        shutil.rmtree(root, ignore_errors=True)


class LoopbackPeers:
    """VMs that share the host's network (no namespace of their own): they meet on loopback, each job on
    a port the kernel just found free, so two jobs never collide."""

    def rendezvous(self, *, hosts: Sequence[str], placed_on: Sequence[str] = ()) -> Rendezvous:
        with socket.socket() as probe:
            probe.bind((rendezvous.LOOPBACK, 0))
            port: int = probe.getsockname()[1]
        return rendezvous.on_loopback(port)


class LocalExecutor(PlainFolders, LoopbackPeers):
    """Runs VMs as child processes of this server."""

    isolation = "process"
    enforces_volumes = False
    remote = False

    def __init__(self) -> None:
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def launch(self, spec: LaunchSpec, on_exit: Callable[[], None]) -> int:
        wrapper = [sys.executable, "-m", "app.runtime.launch"]
        if spec.memory_bytes:
            wrapper += ["--memory-bytes", str(spec.memory_bytes)]
        if spec.cpus:
            wrapper += ["--cpus", ",".join(str(c) for c in spec.cpus)]
        if spec.die_with_parent:
            wrapper += ["--die-with-parent", str(os.getpid())]
        spec.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (
            open(os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log,
            log_times.appending(spec.log_path) as times,
        ):
            if spec.max_log_bytes is not None:
                wrapper += ["--max-log-bytes", str(spec.max_log_bytes), "--times-fd", str(times)]
            process = subprocess.Popen(
                [*wrapper, "--", *spec.command],
                pass_fds=(times,),
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

    def pause(self, pid: int) -> None:
        signal_group(pid, signal.SIGSTOP)

    def resume(self, pid: int) -> None:
        signal_group(pid, signal.SIGCONT)

    def out_of_memory(self, pid: int) -> bool:
        return False  # an address-space limit shows as MemoryError in the log instead

    def reap(self, *, vm_id: str, pid: int | None) -> None:
        # A pid may have been reused since: only a process that carries the VM's id is killed.
        if pid is not None and _carries_vm_id(pid, vm_id):
            signal_group(pid, signal.SIGKILL)

    def sweep(self) -> None:
        """Nothing beyond the VM folders, which recovery removes for every executor."""

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


def _carries_vm_id(pid: int, vm_id: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"SAGELITE_VM_ID={vm_id}".encode() in environ.split(b"\0")
