"""`OciExecutor`: each VM a container run by runc, behind the `Executor` protocol.

A VM is made in three steps: `provision` (its volume, mounted at its directory on the host, which the
supervisor fills with the /opt/ml contract and channels), `launch` (its root directory and config, then
`runc run` in the foreground: the process the executor knows the VM by, living as long as its init) and
`discard` (after the upload: volume, bundle and network gone). Its cgroup outlives its processes until
the watcher has read how it ended (out-of-memory kills), then `runc delete` removes both.

The per-job network is an optional collaborator (`JobNetworks`): each VM joins its job's network (its
namespace, its /etc/hosts naming every VM of the job) when the job's first VM launches, and the network
goes when the job's last VM is discarded. Without one, each VM has a network namespace of its own with
only loopback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app.runtime import log_times, rendezvous
from app.runtime.executor import LaunchSpec
from app.runtime.oci import bundle, rootfs
from app.runtime.oci.cgroups import Cgroups
from app.runtime.oci.runc import Runc, RuncError
from app.runtime.oci.volume import Volumes
from app.runtime.rendezvous import Rendezvous

logger = logging.getLogger(__name__)

GIB = 1024**3
# runc's state and the VMs' bundles: runtime state, on the tmpfs a reboot empties (runc's own default is
# /run/runc), one folder per server; volumes stay in the data directory, on the disk they are sized for.
RUN_ROOT = Path("/run/sagelite")
_FIRST_UID = 100_000  # above any user of the host; each VM gets its own
_UID_RANGE = 900_000


class VmNet(Protocol):
    @property
    def netns_path(self) -> str: ...

    @property
    def ip(self) -> str: ...

    @property
    def hosts_file_text(self) -> str: ...


class JobNetworks(Protocol):
    """One private network per job (`app.runtime.oci.network.JobNetwork`)."""

    def attach(self, *, job_key: str, hostnames: Sequence[str], isolated: bool) -> Mapping[str, VmNet]: ...

    def detach(self, job_key: str) -> None: ...

    def sweep(self) -> None: ...

    @property
    def server_url(self) -> str | None: ...


@dataclass
class _Container:
    id: str
    job_key: str
    process: object  # the `runc run` Popen
    exit_code: int | None = None
    oom_killed: bool = False


@dataclass
class _Job:
    nets: Mapping[str, VmNet]
    vms: set[str] = field(default_factory=set)


def vm_uid(vm_id: str) -> int:
    """The VM's user (and group) id: high, fixed for the VM, different from its neighbours' in practice."""
    return _FIRST_UID + zlib.crc32(vm_id.encode()) % _UID_RANGE


def server_key(data_dir: Path) -> str:
    """Marks this server's VM cgroups and runtime state: one per data directory, stable across restarts."""
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]


def runtime_dir(data_dir: Path) -> Path:
    """This server's runc state (`state/`) and VM bundles (`bundles/`)."""
    return RUN_ROOT / server_key(data_dir)


class OciExecutor:
    """Runs each VM as an OCI container through runc."""

    isolation = "oci"
    enforces_volumes = True
    remote = False

    def __init__(
        self,
        *,
        data_dir: Path,
        runc_binary: str,
        pids_limit: int,
        memory_reserve_bytes: int,
        network: JobNetworks | None = None,
    ) -> None:
        self._dir = runtime_dir(data_dir)
        self._vms_dir = data_dir.resolve() / "vms"
        self._runc = Runc(binary=runc_binary, state_dir=self._dir / "state")
        self.cgroups = Cgroups(prefix=f"{server_key(data_dir)}-")
        self._volumes = Volumes(data_dir.resolve() / "volumes")
        self._pids_limit = pids_limit
        self._network = network
        self._view = rootfs.host_view(extra=rootfs.python_paths())
        self._containers: dict[int, _Container] = {}
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        self.cgroups.ensure_parent(memory_limit_bytes=max(GIB, machine - memory_reserve_bytes))

    # -- the disk ----------------------------------------------------------------------------------

    def view_of(self, root: Path) -> Path:
        return Path(bundle.OPT_ML)

    def server_url(self, local_url: str) -> str:
        """On a job network, the server's alias there; without one a VM reaches nothing outside itself."""
        on_network = self._network.server_url if self._network is not None else None
        return on_network or local_url

    def provision(self, *, vm_id: str, root: Path, disk_gib: float) -> None:
        self._volumes.create(name=vm_id, size_bytes=max(1, int(disk_gib * GIB)), mount_at=root)

    def discard(self, *, vm_id: str, root: Path) -> None:
        shutil.rmtree(self._bundle_dir(vm_id), ignore_errors=True)
        self._leave_job(vm_id)
        self._tidy()
        self._volumes.remove(name=vm_id, mounted_at=root)  # a failure here leaves it to the next sweep
        shutil.rmtree(root, ignore_errors=True)

    def rendezvous(self, *, hosts: Sequence[str], placed_on: Sequence[str] = ()) -> Rendezvous:
        # Each VM has its own network namespace, so the port is free; the job network resolves algo-1.
        return rendezvous.on_job_network(hosts)

    # -- the container -----------------------------------------------------------------------------

    def launch(self, spec: LaunchSpec, on_exit: Callable[[], None]) -> int:
        uid = vm_uid(spec.vm_id)
        _chown_tree(spec.cwd, uid)
        net = self._join_job(spec)
        directory = self._bundle_dir(spec.vm_id)
        with self._lock:  # not while `_tidy` removes the folders above it
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        rootfs.build(
            directory / "rootfs",
            view=self._view,
            etc_files=rootfs.etc_files(
                hostname=spec.hostname, uid=uid, hosts_text=net.hosts_file_text if net else None
            ),
        )
        box = bundle.Box(
            hostname=spec.hostname,
            args=_capped(spec),
            env=spec.env,
            uid=uid,
            binds=self._view.binds,
            disk=spec.cwd,
            cgroups_path=self.cgroups.runc_path(spec.vm_id),
            memory_bytes=spec.memory_bytes or GIB,
            vcpus=spec.vcpus,
            cpuset=spec.cpus,
            pids_limit=self._pids_limit,
            netns_path=net.netns_path if net else None,
            devices=_gpu_devices(spec.gpus),
        )
        (directory / "config.json").write_text(json.dumps(bundle.config(box)))
        spec.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (
            open(os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log,
            log_times.appending(spec.log_path) as times,
        ):
            pumped = spec.max_log_bytes is not None  # only the pump gets the times file, never the command
            process = self._runc.run(
                container_id=spec.vm_id, bundle=directory, log=log, times_fd=times if pumped else None
            )
        container = _Container(id=spec.vm_id, job_key=spec.job_key, process=process)
        with self._lock:
            self._containers[process.pid] = container
        threading.Thread(target=self._watch, args=(container, on_exit), daemon=True).start()
        return process.pid

    def signal(self, pid: int, sig: int) -> None:
        container = self._container(pid)
        if container is None or container.exit_code is not None:
            return
        try:
            # SIGKILL goes to every process of the cgroup; others to the init, which hands them on.
            self._runc.kill(container.id, signal.Signals(sig).name, all_processes=sig == signal.SIGKILL)
        except RuncError:
            # Not created yet (or already gone): runc forwards what it receives to the init.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def pause(self, pid: int) -> None:
        self._freeze(pid, self.cgroups.freeze)

    def resume(self, pid: int) -> None:
        self._freeze(pid, self.cgroups.thaw)

    def exit_code(self, pid: int) -> int | None:
        container = self._container(pid)
        return None if container is None else container.exit_code

    def out_of_memory(self, pid: int) -> bool:
        container = self._container(pid)
        return container is not None and container.oom_killed

    def release(self, pid: int) -> None:
        with self._lock:
            self._containers.pop(pid, None)

    # -- recovery ----------------------------------------------------------------------------------

    def reap(self, *, vm_id: str, pid: int | None) -> None:
        with contextlib.suppress(RuncError):
            self._runc.delete(vm_id, force=True)
        self.cgroups.remove(vm_id)

    def sweep(self) -> None:
        for container_id in self._runc.list_ids():
            with contextlib.suppress(RuncError):
                self._runc.delete(container_id, force=True)
        for vm_id in self.cgroups.leftovers():
            self.cgroups.remove(vm_id)
        self._volumes.sweep(mounts_under=self._vms_dir)
        shutil.rmtree(self._dir / "bundles", ignore_errors=True)
        self._tidy()
        if self._network is not None:
            self._network.sweep()

    # -- helpers -----------------------------------------------------------------------------------

    def _watch(self, container: _Container, on_exit: Callable[[], None]) -> None:
        process = container.process
        assert hasattr(process, "wait")
        code: int = process.wait()
        # runc reports an init killed by a signal as 128 + its number, as a shell does.
        container.oom_killed = self.cgroups.oom_kills(container.id) > 0
        try:
            self._runc.delete(container.id, force=True)
        except RuncError as error:
            logger.warning("deleting a container failed", extra={"vm": container.id, "error": str(error)})
        container.exit_code = -(code - 128) if 128 < code <= 128 + 64 else code
        on_exit()

    def _tidy(self) -> None:
        """With no VM left, remove this server's runtime folders (a server that runs nothing leaves none)."""
        with self._lock:
            if self._containers:
                return
            for empty in (self._dir / "state", self._dir / "bundles", self._dir):
                with contextlib.suppress(OSError):
                    empty.rmdir()

    def _freeze(self, pid: int, move: Callable[[str], None]) -> None:
        """Through the cgroup freezer directly; runc reads the same file for the container's state."""
        container = self._container(pid)
        if container is not None and container.exit_code is None:
            with contextlib.suppress(OSError):  # the container ended meanwhile: its cgroup is gone
                move(container.id)

    def _container(self, pid: int) -> _Container | None:
        with self._lock:
            return self._containers.get(pid)

    def _bundle_dir(self, vm_id: str) -> Path:
        return self._dir / "bundles" / vm_id

    def _join_job(self, spec: LaunchSpec) -> VmNet | None:
        if self._network is None:
            return None
        with self._lock:
            job = self._jobs.get(spec.job_key)
        if job is None:
            nets = self._network.attach(
                job_key=spec.job_key, hostnames=list(spec.hosts), isolated=spec.network_isolated
            )
            with self._lock:
                job = self._jobs.setdefault(spec.job_key, _Job(nets=nets))
        with self._lock:
            job.vms.add(spec.vm_id)
        return job.nets[spec.hostname]

    def _leave_job(self, vm_id: str) -> None:
        with self._lock:
            ending = [key for key, job in self._jobs.items() if vm_id in job.vms and job.vms == {vm_id}]
            for job in self._jobs.values():
                job.vms.discard(vm_id)
            for key in ending:
                del self._jobs[key]
        for key in ending:
            assert self._network is not None
            self._network.detach(key)


def _capped(spec: LaunchSpec) -> list[str]:
    """The command, behind the launch wrapper's log pump when the log is capped (the interpreter and
    the `app` package are mounted in the container at their host paths), which stamps the log's times
    on the fd 3 runc hands it."""
    if spec.max_log_bytes is None:
        return list(spec.command)
    cap = str(spec.max_log_bytes)
    pump = [sys.executable, "-m", "app.runtime.launch", "--max-log-bytes", cap, "--times-fd", "3", "--"]
    return [*pump, *spec.command]


def _chown_tree(root: Path, uid: int) -> None:
    """Hand the VM's directory to its user (the server wrote the contract and channels as root)."""
    os.lchown(root, uid, uid)
    for directory, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.lchown(os.path.join(directory, name), uid, uid)


def _gpu_devices(gpus: Sequence[int]) -> list[bundle.Device]:
    """The NVIDIA device nodes a VM with these GPUs needs (none on machines without them)."""
    paths = [f"/dev/nvidia{index}" for index in gpus]
    if paths:
        paths += ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"]
    devices = []
    for path in paths:
        with contextlib.suppress(OSError):
            device = os.stat(path).st_rdev
            devices.append(bundle.Device(path=path, major=os.major(device), minor=os.minor(device)))
    return devices
