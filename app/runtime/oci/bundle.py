"""A VM's OCI runtime config (`config.json`), from what the executor knows of it (pure).

The container has its own PID, mount, UTS, IPC and network namespaces, a read-only root with the host
paths of `rootfs.HostView` bound read-only, the VM's disk at `/opt/ml`, a private `/tmp`, and runs an
unprivileged user with no capabilities, `noNewPrivileges` and the seccomp profile of `seccomp`, under
`tini` as its init, so that signals reach the training process and orphans are reaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.runtime.oci import seccomp

OPT_ML = "/opt/ml"
INIT = ("/usr/bin/tini", "-s", "-g", "--")  # -g: signals go to the training process's whole group
_CPU_PERIOD_US = 100_000
_RO_BIND = ["rbind", "ro", "nosuid", "nodev"]


@dataclass(frozen=True, slots=True)
class Device:
    """A host device node the VM may use (a GPU): path, char major and minor."""

    path: str
    major: int
    minor: int


@dataclass(frozen=True, kw_only=True)
class Box:
    """Everything one VM's container is made of."""

    hostname: str
    args: Sequence[str]
    env: Mapping[str, str]
    uid: int
    binds: Sequence[Path]
    disk: Path  # the host directory (the VM's volume) mounted at /opt/ml
    cgroups_path: str
    memory_bytes: int
    vcpus: float
    cpuset: Sequence[int] = ()
    pids_limit: int
    netns_path: str | None = None
    devices: Sequence[Device] = field(default_factory=tuple)
    tmp_bytes: int = 1024**3


def config(box: Box) -> dict[str, Any]:
    return {
        "ociVersion": "1.0.2",
        "process": _process(box),
        "root": {"path": "rootfs", "readonly": True},
        "hostname": box.hostname,
        "mounts": _mounts(box),
        "linux": _linux(box),
    }


def _process(box: Box) -> dict[str, Any]:
    return {
        "terminal": False,
        "user": {"uid": box.uid, "gid": box.uid, "additionalGids": []},
        "args": [*INIT, *box.args],
        "env": [f"{key}={value}" for key, value in box.env.items()],
        "cwd": OPT_ML,
        "capabilities": {
            name: [] for name in ("bounding", "effective", "inheritable", "permitted", "ambient")
        },
        "noNewPrivileges": True,
    }


def _mounts(box: Box) -> list[dict[str, Any]]:
    size = box.memory_bytes // 2  # /dev/shm as Docker sizes it for data loaders: memory it is charged to
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        _tmpfs("/dev", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
        },
        _tmpfs("/dev/shm", ["nosuid", "noexec", "nodev", "mode=1777", f"size={size}"]),
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
        _tmpfs("/tmp", ["nosuid", "nodev", "mode=1777", f"size={box.tmp_bytes}"]),
    ]
    mounts += [
        {"destination": str(p), "type": "bind", "source": str(p), "options": _RO_BIND} for p in box.binds
    ]
    mounts.append(
        {
            "destination": OPT_ML,
            "type": "bind",
            "source": str(box.disk),
            "options": ["rbind", "rw", "nosuid", "nodev"],
        }
    )
    return mounts


def _tmpfs(destination: str, options: list[str]) -> dict[str, Any]:
    return {"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options}


def _linux(box: Box) -> dict[str, Any]:
    network: dict[str, Any] = {"type": "network"}
    if box.netns_path:
        network["path"] = box.netns_path
    return {
        "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, network],
        "cgroupsPath": box.cgroups_path,
        "resources": _resources(box),
        "devices": [
            {
                "path": d.path,
                "type": "c",
                "major": d.major,
                "minor": d.minor,
                "fileMode": 0o666,
                "uid": 0,
                "gid": 0,
            }
            for d in box.devices
        ],
        "seccomp": seccomp.profile(),
        "maskedPaths": [
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/proc/scsi",
            "/sys/firmware",
        ],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    }


def _resources(box: Box) -> dict[str, Any]:
    cpu: dict[str, Any] = {"quota": int(box.vcpus * _CPU_PERIOD_US), "period": _CPU_PERIOD_US}
    if box.cpuset:
        cpu["cpus"] = ",".join(str(c) for c in box.cpuset)
    allowed = [
        {"allow": True, "type": "c", "major": d.major, "minor": d.minor, "access": "rwm"} for d in box.devices
    ]
    return {
        # The memory the processes use (swap included, so none is taken); what the OOM killer enforces.
        "memory": {"limit": box.memory_bytes, "swap": box.memory_bytes},
        "cpu": cpu,
        "pids": {"limit": box.pids_limit},
        # runc adds the default devices (null, zero, full, random, urandom, tty, pts) on top.
        "devices": [{"allow": False, "access": "rwm"}, *allowed],
    }
