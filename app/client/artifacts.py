"""Downloads to disk (written to a temporary file, checked, then renamed) and safe unpacking of archives."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from app.client.errors import ArtifactError

CHECKSUM_HEADER = "x-checksum-sha256"
# Unpacking refuses archives that would write more than this (a decompression bomb).
MAX_UNPACKED_BYTES = 64 << 30


def save(chunks: Iterable[bytes], destination: Path, *, sha256: str | None) -> Path:
    """Write the bytes to `destination` atomically; when the server sent a SHA-256, it must match."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise ArtifactError(
                f"{destination.name}: SHA-256 {digest.hexdigest()} differs from the server's {sha256}"
            )
        os.replace(partial, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return destination


def unpack(archive: Path, directory: Path) -> list[Path]:
    """Extract a tar archive under `directory`, refusing any member that is not a plain file or directory
    inside it (absolute paths, `..`, links, devices), and archives too large to be sane."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        check_members(members)
        if hasattr(tarfile, "data_filter"):  # Python ≥ 3.11.4 re-checks every member itself
            tar.extractall(directory, members=members, filter="data")
        else:  # pragma: no cover - check_members has refused everything the filter would
            tar.extractall(directory, members=members)
    return [directory / m.name for m in members if m.isfile()]


def check_members(members: list[tarfile.TarInfo]) -> None:
    total = 0
    for member in members:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or "\\" in member.name:
            raise ArtifactError(f"refusing to unpack {member.name!r}: outside the destination")
        if not (member.isfile() or member.isdir()):
            raise ArtifactError(f"refusing to unpack {member.name!r}: not a regular file or directory")
        total += member.size
        if total > MAX_UNPACKED_BYTES:
            raise ArtifactError(f"refusing to unpack more than {MAX_UNPACKED_BYTES} bytes")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
