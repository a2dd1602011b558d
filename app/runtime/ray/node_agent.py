"""The node side of the Ray executor: one agent actor per node and server runs that node's VMs.

The agent starts each VM with the node's own process executor, so a VM on a Ray node is isolated as one
on the server's machine is under `process` isolation. It keeps the VM's folder and log on the node, under
the node's temporary directory; the server pulls the log as it grows (`poll`) and the VM's results once it
has ended (`collect`). It enforces the run's end itself: past the deadline and grace period, or that long
after a SIGTERM, it kills the VM even when the server that should have done so is gone; and every VM it
starts dies with it (a parent-death signal), so a node whose agent dies keeps no VM running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from app.runtime import contract, rendezvous, vm_env
from app.runtime.channels import Fetch
from app.runtime.executor import LaunchSpec, LocalExecutor, signal_group
from app.runtime.ray import node_files, node_network

LOG_CHUNK_BYTES = 1024 * 1024  # the most of a log one poll returns
# How long after the server should have killed a VM the agent does it instead (the server's own SIGKILL,
# when it is alive, comes first: the job's status then says why the VM ended).
BACKSTOP_SECONDS = 10.0
HOST_LOST_EXIT = -signal.SIGKILL
LONG_POLL_CHECK_SECONDS = 0.02  # how often a waiting poll looks at the VM's log and process (a stat)


@dataclass(frozen=True, kw_only=True)
class NodeLaunch:
    """What the server sends to start one VM on a node."""

    vm_id: str
    bundle: bytes  # the VM's start-up tree (`node_files.pack`)
    fetches: tuple[Fetch, ...]  # the channel objects the node downloads itself
    checkpoint_fetches: tuple[Fetch, ...] = ()  # and the saved checkpoints it restores, likewise
    arguments: tuple[str, ...]  # the command after the interpreter
    env: Mapping[str, str]
    server_root: str  # the VM's folder on the server: paths under it are rewritten to the node's
    memory_bytes: int | None
    max_log_bytes: int | None
    deadline_at: float  # epoch seconds; MaxRuntimeInSeconds from the start of training
    grace_seconds: float


@dataclass(frozen=True, slots=True)
class Progress:
    """A poll's answer: the log's bytes from the offset asked for, and the exit code once the VM has
    ended and its log has been read to the end."""

    log: bytes
    exit_code: int | None


@dataclass
class _NodeVm:
    root: Path
    log: Path
    grace_seconds: float
    env: Mapping[str, str] = field(default_factory=dict)  # the server's launch's: the job's credentials
    pid: int | None = None
    early_exit: int | None = None  # it ended before its process started (a download failed, a stop)
    cancelled: int | None = None  # the signal a stop sent before its process started
    timers: list[threading.Timer] = field(default_factory=list)


class NodeAgent:
    """Runs the VMs one server places on this node (an actor: every method is called through Ray)."""

    def __init__(self, *, server_key: str, address: str) -> None:
        self._dir = Path(tempfile.gettempdir()) / "sagelite-vms" / server_key
        self._address = address  # the node's, as the cluster lists it: where other nodes reach its VMs
        self._executor = LocalExecutor()
        # Every VM is forked from this one thread, which lives as long as the agent: a parent-death signal
        # is sent when the forking thread ends, so VMs die with the agent and never earlier.
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vm-launcher")
        self._vms: dict[str, _NodeVm] = {}
        self._lock = threading.Lock()

    def ping(self) -> int:
        return os.getpid()

    def free_port(self) -> int:
        """A port free on the node's address, for a job whose first VM runs here to meet on."""
        return node_network.free_port(self._address)

    def start(self, launch: NodeLaunch) -> None:
        """Begin starting the VM (unpack, download, launch) and return at once; `poll` tells how it goes."""
        vm_dir = self._dir / launch.vm_id
        vm = _NodeVm(
            root=vm_dir / "ml", log=vm_dir / "vm.log", grace_seconds=launch.grace_seconds, env=launch.env
        )
        with self._lock:
            self._vms[launch.vm_id] = vm
        threading.Thread(target=self._start, args=(vm, launch), daemon=True).start()

    def poll(self, vm_id: str, offset: int, wait_seconds: float = 0.0) -> Progress:
        """The log from `offset` and, once the VM has ended, its exit code. With nothing new, waits up to
        `wait_seconds` for something (a long poll): the server hears of a VM's first line, or of its end,
        within a local check's interval instead of a round trip's, and calls a quiet VM's agent seldom."""
        give_up = time.monotonic() + wait_seconds
        while True:
            progress = self._progress(vm_id, offset)
            if progress.log or progress.exit_code is not None or time.monotonic() >= give_up:
                return progress
            time.sleep(LONG_POLL_CHECK_SECONDS)

    def _progress(self, vm_id: str, offset: int) -> Progress:
        vm = self._vm(vm_id)
        if vm is None:
            return Progress(b"", HOST_LOST_EXIT)  # forgotten: this agent is not the one that started it
        code = vm.early_exit if vm.pid is None else self._executor.exit_code(vm.pid)
        data = _read(vm.log, offset)
        return Progress(data, code if len(data) < LOG_CHUNK_BYTES else None)

    def signal(self, vm_id: str, sig: int) -> None:
        vm = self._vm(vm_id)
        if vm is None:
            return
        if vm.pid is None:
            if sig in (signal.SIGTERM, signal.SIGKILL):
                vm.cancelled = sig
            return
        signal_group(vm.pid, sig)
        if sig == signal.SIGTERM:
            self._arm(vm, delay=BACKSTOP_SECONDS + vm.grace_seconds)

    def collect(self, vm_id: str, results_uri: str = "") -> bytes:
        """After the VM has ended: its model, output and checkpoints, for the server to package. With
        `results_uri`, uploaded there through the server's S3 API as the job (and b"" returned)."""
        vm = self._vm(vm_id)
        if vm is None:
            return b""
        results = node_files.pack(vm.root, parts=node_files.RESULTS)
        if not results_uri:
            return results
        node_files.put_results(results, uri=results_uri, env=vm.env)
        return b""

    def discard(self, vm_id: str) -> None:
        """Kill the VM if it still runs and remove its folder."""
        with self._lock:
            vm = self._vms.pop(vm_id, None)
        if vm is not None:
            self._kill(vm)
            shutil.rmtree(vm.root.parent, ignore_errors=True)

    def kill_all(self) -> int:
        """Kill every VM of this agent and remove their folders (a restarted server that cannot re-attach
        to them); returns how many were running."""
        with self._lock:
            vms, self._vms = list(self._vms.values()), {}
        running = sum(1 for vm in vms if self._kill(vm))
        shutil.rmtree(self._dir, ignore_errors=True)
        return running

    # -- inside the agent ----------------------------------------------------------------------------

    def _start(self, vm: _NodeVm, launch: NodeLaunch) -> None:
        try:
            node_files.unpack(launch.bundle, vm.root)
            paths = contract.layout(vm.root)
            node_files.download(launch.fetches, data_dir=paths.input_data_dir, env=launch.env)
            node_files.download(launch.checkpoint_fetches, data_dir=paths.checkpoints_dir, env=launch.env)
        except node_files.DownloadError as error:
            _fail(vm, f"ClientError: {error}")
            return
        except Exception as error:
            _fail(vm, f"InternalServerError: the VM could not be prepared on its Ray node: {error}")
            return
        if vm.cancelled is not None:
            vm.early_exit = -vm.cancelled
            return
        spec = _local_spec(launch, vm, interface=node_network.interface_of(self._address))
        vm.pid = self._launcher.submit(self._executor.launch, spec, lambda: None).result()
        self._arm(vm, delay=launch.deadline_at + launch.grace_seconds + BACKSTOP_SECONDS - time.time())

    def _arm(self, vm: _NodeVm, *, delay: float) -> None:
        timer = threading.Timer(max(0.0, delay), self._kill, args=(vm,))
        timer.daemon = True
        timer.start()
        vm.timers.append(timer)

    def _kill(self, vm: _NodeVm) -> bool:
        for timer in vm.timers:
            timer.cancel()
        if vm.pid is None or self._executor.exit_code(vm.pid) is not None:
            return False
        signal_group(vm.pid, signal.SIGKILL)
        signal_group(vm.pid, signal.SIGCONT)  # a paused VM dies too
        return True

    def _vm(self, vm_id: str) -> _NodeVm | None:
        with self._lock:
            return self._vms.get(vm_id)


def _local_spec(launch: NodeLaunch, vm: _NodeVm, *, interface: str | None) -> LaunchSpec:
    """The server's launch as this node runs it: its paths moved under the node's folder, its interpreter
    and search path the node's own, and its collectives bound to the node's interface (`interface`)."""
    root = str(vm.root)
    env = {name: value.replace(launch.server_root, root) for name, value in launch.env.items()}
    env |= vm_env.base_environment(os.environ, interpreter=Path(sys.executable), home=vm.root)
    if rendezvous.MASTER_ADDR in env and interface is not None:
        env[rendezvous.SOCKET_IFNAME] = interface
    return LaunchSpec(
        vm_id=launch.vm_id,
        command=[sys.executable, *(a.replace(launch.server_root, root) for a in launch.arguments)],
        cwd=vm.root,
        env=env,
        log_path=vm.log,
        memory_bytes=launch.memory_bytes,
        max_log_bytes=launch.max_log_bytes,
        die_with_parent=True,
    )


def _fail(vm: _NodeVm, reason: str) -> None:
    failure = contract.layout(vm.root).failure_file
    failure.parent.mkdir(parents=True, exist_ok=True)
    failure.write_text(reason + "\n")
    vm.early_exit = 1


def _read(path: Path, offset: int) -> bytes:
    with contextlib.suppress(FileNotFoundError), path.open("rb") as log:
        log.seek(offset)
        return log.read(LOG_CHUNK_BYTES)
    return b""
