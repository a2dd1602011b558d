"""A VM's disk: `VolumeSizeInGB` as a sparse file, formatted ext4 and loop-mounted where the VM's
`/opt/ml` lives, so a write past it fails with ENOSPC inside the VM instead of filling the host's disk.

The file takes only what is written to it; the mount's loop device is released when it is unmounted
(util-linux sets autoclear). After a crash, `sweep` unmounts what is left and frees its loop devices.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

_TIMEOUT = 60.0
# No journal and no reserved blocks: the disk is scratch for one run, and all of it is the VM's.
_MKFS = ("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard")


class Volumes:
    """Volume images in one directory, mounted at the VM directories given."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def image(self, name: str) -> Path:
        return self._dir / f"{name}.img"

    def create(self, *, name: str, size_bytes: int, mount_at: Path) -> None:
        """Make, format and mount the volume; `mount_at` becomes its root (0700, the formatter's
        lost+found removed: SageMaker's /opt/ml has none)."""
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        image = self.image(name)
        with open(os.open(image, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
            file.truncate(size_bytes)
        _run([*_MKFS, str(image)])
        mount_at.mkdir(mode=0o700, parents=True, exist_ok=True)
        _run(["mount", "-o", "loop,nosuid,nodev", str(image), str(mount_at)])
        (mount_at / "lost+found").rmdir()
        mount_at.chmod(0o700)

    def remove(self, *, name: str, mounted_at: Path) -> None:
        """Unmount (lazily, should a reader still hold it) and delete the volume."""
        if os.path.ismount(mounted_at):
            _run(["umount", "--lazy", str(mounted_at)])
        with contextlib.suppress(FileNotFoundError):
            self.image(name).unlink()

    def sweep(self, *, mounts_under: Path) -> list[str]:
        """After a crash: unmount every volume under `mounts_under`, free loop devices still bound to an
        image of this directory, delete the images. Returns the images removed."""
        for mount_point in mounts_below(mounts_under):
            subprocess.run(
                ["umount", "--lazy", mount_point], capture_output=True, timeout=_TIMEOUT, check=False
            )
        removed = []
        for image in sorted(self._dir.glob("*.img")) if self._dir.is_dir() else []:
            for device in loop_devices_of(image):
                _run(["losetup", "-d", device], check=False)
            image.unlink()
            removed.append(image.stem)
        return removed


def mounts_below(directory: Path) -> list[str]:
    """Mount points at or under `directory`, deepest first (from /proc/self/mountinfo)."""
    prefix = str(directory.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def loop_devices_of(image: Path) -> list[str]:
    """Loop devices whose backing file is `image`."""
    return _run(
        ["losetup", "--noheadings", "--output", "NAME", "--associated", str(image)], check=False
    ).split()


def _run(command: list[str], *, check: bool = True) -> str:
    # In a session of its own: a signal to the server's process group (Ctrl-C, a supervisor's SIGTERM)
    # must not cut a mount or an unmount short while the server cleans up.
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=_TIMEOUT, check=False, start_new_session=True
    )
    if check and completed.returncode != 0:
        raise OSError(f"{command[0]} failed: {completed.stderr.strip() or completed.returncode}")
    return completed.stdout
