"""Where runs keep their files under the data directory, and the sweep of what dead runs left there.

    vms/<vm id>/   a VM's /opt/ml (SAGEMAKER_BASE_DIR): inputs, code, model, output; removed when its run ends
    scratch/       the service's own temporary folders (packing artifacts, fetching source tarballs)
    logs/<job>/    the VMs' log streams: kept, they outlive the job as CloudWatch's streams do

A server killed mid-run leaves its VM and scratch folders behind. At start-up no run is alive yet (the
recovery has just killed every VM process), so everything under `vms/` and `scratch/` is a leftover.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Swept:
    folders: int
    bytes: int


def vm_root(work_dir: Path, vm_id: str) -> Path:
    return work_dir / "vms" / vm_id


def scratch_root(work_dir: Path) -> Path:
    return work_dir / "scratch"


@contextmanager
def scratch(scratch_dir: Path, *, prefix: str) -> Iterator[Path]:
    """A private temporary folder under `scratch_dir` (on the data disk, where the sweep finds it)."""
    scratch_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=scratch_dir) as folder:
        yield Path(folder)


def sweep_leftovers(work_dir: Path) -> Swept:
    """Remove every VM folder and scratch folder; only while no run is alive (at start-up)."""
    folders = total = 0
    for parent in (work_dir / "vms", scratch_root(work_dir)):
        if not parent.is_dir():
            continue
        for entry in parent.iterdir():
            total += _size(entry)
            folders += 1
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    return Swept(folders=folders, bytes=total)


def _size(path: Path) -> int:
    return tree_size(path) if path.is_dir() and not path.is_symlink() else path.lstat().st_size


def tree_size(root: Path) -> int:
    """Bytes of the files under `root` (links not followed; files vanishing meanwhile not counted)."""
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total
