"""Packing a directory as SageMaker packs `/opt/ml/model` into `model.tar.gz`."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

# gzip level 6 (zlib's default): a few percent larger than 9 and several times faster on model weights.
_GZIP_LEVEL = 6


def pack_dir(src: Path, dest_tarball: Path, compress: bool) -> None:
    """Write the contents of `src` (not `src` itself: entries are relative, as in SageMaker's archives)
    into `dest_tarball`, gzipped if `compress`; written to a temp file and renamed, so `dest_tarball`
    is either absent or complete. Symlinks are stored as links, never followed."""
    if not src.is_dir():
        raise NotADirectoryError(f"not a directory: {src}")
    if dest_tarball.resolve().is_relative_to(src.resolve()):
        raise ValueError(f"{dest_tarball} is inside {src}: the archive would contain itself")
    tmp = dest_tarball.with_name(f".{dest_tarball.name}.{os.getpid()}.tmp")
    try:
        with _open(tmp, compress) as archive:
            for entry in sorted(src.iterdir()):  # tarfile sorts inside directories; keep the top level too
                archive.add(entry, arcname=entry.name, recursive=True)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest_tarball)
    finally:
        tmp.unlink(missing_ok=True)


def _open(path: Path, compress: bool) -> tarfile.TarFile:
    if compress:
        return tarfile.open(path, "w:gz", compresslevel=_GZIP_LEVEL)
    return tarfile.open(path, "w")
