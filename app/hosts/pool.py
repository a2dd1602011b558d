"""The host pool: which hosts exist and how big they are, from a file or from this machine."""

from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings

GIB = 1024**3


@dataclass(frozen=True, slots=True)
class HostSpec:
    name: str
    vcpus: float
    memory_gib: float
    gpus: int
    disk_gib: float


class HostsFileError(ValueError):
    """The hosts file cannot be read or describes an impossible host."""


def configured_hosts(settings: Settings, *, real_volumes: bool = False) -> list[HostSpec]:
    """The hosts file's pool when one is given, else this machine as one host. `real_volumes`: the
    executor makes each VM's disk a volume of its own on this machine's disk (see `volume_capacity_gib`)."""
    if settings.hosts_file is not None:
        return load_hosts_file(settings.hosts_file)
    return [local_host(settings, real_volumes=real_volumes)]


def volume_capacity_gib(
    *, free_gib: float, reserve_gib: float, overcommit: float, real_volumes: bool
) -> float:
    """How much VolumeSizeInGB placement may hand out: never the reserve, which the database and objects
    keep. Real volumes are sparse files on the data directory's disk, so each may fill to its size:
    overcommitting them could fill that disk, and they are not. Polled VM folders may be overcommitted."""
    usable = max(0.0, free_gib - reserve_gib)
    return round(usable if real_volumes else usable * overcommit, 1)


def local_host(settings: Settings, *, real_volumes: bool = False) -> HostSpec:
    """This machine, with the configured overcommit factors applied to CPU, memory and disk."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    disk = shutil.disk_usage(settings.data_dir).free / GIB
    return HostSpec(
        name=socket.gethostname() or "localhost",
        vcpus=float(cores * settings.cpu_overcommit),
        memory_gib=round(memory * settings.memory_overcommit, 1),
        gpus=count_gpus(),
        disk_gib=volume_capacity_gib(
            free_gib=disk,
            reserve_gib=settings.disk_reserve_gib,
            overcommit=settings.disk_overcommit,
            real_volumes=real_volumes,
        ),
    )


def count_gpus() -> int:
    """NVIDIA GPUs the driver exposes; none on machines without one."""
    devices = Path("/proc/driver/nvidia/gpus")
    return len(list(devices.iterdir())) if devices.is_dir() else 0


def load_hosts_file(path: Path) -> list[HostSpec]:
    """A JSON list of {"name", "vcpus", "memory_gib", "gpus", "disk_gib"}."""
    try:
        entries = json.loads(path.read_text())
        hosts = [
            HostSpec(
                name=str(e["name"]),
                vcpus=float(e["vcpus"]),
                memory_gib=float(e["memory_gib"]),
                gpus=int(e.get("gpus", 0)),
                disk_gib=float(e.get("disk_gib", 100)),
            )
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise HostsFileError(f"cannot read hosts file {path}: {error}") from error
    if not hosts or len({h.name for h in hosts}) != len(hosts):
        raise HostsFileError(f"hosts file {path} must list at least one host, each with a unique name")
    if any(min(h.vcpus, h.memory_gib, h.disk_gib) <= 0 or h.gpus < 0 for h in hosts):
        raise HostsFileError(f"hosts file {path} has a host with no capacity")
    return hosts
