"""Blob files: the immutable bytes of objects and parts, sealed (`segments`), written atomically under
random names.

A blob is written to a temp file inside this store's own temp directory (same filesystem), hashed and
sealed under a data key of its own in the same pass, fsynced, then renamed to `blobs/<id[:2]>/<id>` and
the directory fsynced. Blob files are never modified after the rename, so a reader that opened one keeps
a consistent view even if the key is overwritten and the old blob unlinked meanwhile (POSIX keeps the
inode alive while it is open).

Each `BlobDir` instance owns `tmp/<random>/` and holds an exclusive `flock` on it for its lifetime; at
start-up every temp directory whose lock can be taken belongs to a dead process (killed uploads), and
is removed. Locks die with their process, so this is safe with several stores on one root.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

from app.crypto.keyring import Keyring
from app.storage.hashing import StreamHasher
from app.storage.models import Digests
from app.storage.sealed import SegmentReader, SegmentWriter
from app.storage.types import Buffer

_COPY_CHUNK = 8 << 20
_WRITEBACK_EVERY = 16 << 20

# read_at(offset, size) of an open object or blob: plaintext bytes.
ReadAt = Callable[[int, int], bytes]


class BlobWriter:
    """A temp file that hashes (MD5, CRC32, optional extras) the plaintext it is given and seals it;
    one producer at a time."""

    def __init__(self, path: Path, keyring: Keyring, extra_hashes: Collection[str] = ()) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            self._sealer = SegmentWriter(self._fd, keyring)
        except BaseException:
            self.discard()
            raise
        self._hasher = StreamHasher(extra_hashes)
        self._crc = 0
        self._size = 0
        self._written_back = 0  # writeback started up to here
        self._dropped = 0  # evicted from the page cache up to here

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: Buffer) -> None:
        self.write_many((data,))

    def write_many(self, chunks: Sequence[Buffer]) -> None:
        """Hash and append `chunks`: MD5 in the hasher's thread, CRC32, sealing and the writes in this one
        (hashlib, zlib and writev release the GIL, so the MD5 overlaps the rest)."""
        self._hasher.update(chunks)
        for chunk in chunks:
            self._crc = zlib.crc32(chunk, self._crc)
            self._sealer.write(chunk)
        self._size += sum(len(chunk) for chunk in chunks)
        self._start_writeback()

    def _start_writeback(self) -> None:
        """Every `_WRITEBACK_EVERY` bytes: start writing the new dirty range to the disk now (rather than
        all of it in the final fsync), and drop the previous range, written back meanwhile, from the
        page cache. POSIX_FADV_DONTNEED does both: it starts asynchronous writeback of dirty pages (like
        sync_file_range(SYNC_FILE_RANGE_WRITE), which Python lacks) and evicts clean ones. A large upload
        thus recycles a few tens of MiB of page cache instead of filling it with fresh pages, which is
        several times cheaper and leaves other cached data alone."""
        written = self._sealer.file_bytes
        if written - self._written_back < _WRITEBACK_EVERY or not hasattr(os, "posix_fadvise"):
            return
        os.posix_fadvise(self._fd, self._dropped, written - self._dropped, os.POSIX_FADV_DONTNEED)
        self._dropped, self._written_back = self._written_back, written

    def copy_from(self, read_at: ReadAt, offset: int, count: int) -> None:
        """Append `count` bytes of another object from `offset`, hashing them on the way."""
        end = offset + count
        while offset < end:
            data = read_at(offset, min(_COPY_CHUNK, end - offset))
            if not data:
                raise OSError(f"source object ended {end - offset} bytes early")
            self.write(data)
            offset += len(data)

    def finish(self) -> Digests:
        """Seal the last segment, flush to stable storage and close; the file is complete but private."""
        md5, extra = self._hasher.digests()
        self._sealer.finish()
        os.fsync(self._fd)
        self._close()
        return Digests(size=self._size, md5=md5, crc32=self._crc, extra=extra)

    def discard(self) -> None:
        self._close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _close(self) -> None:
        self._hasher.close()
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)


class BlobDir:
    """The `blobs/` and `tmp/` directories under a store root."""

    def __init__(self, root: Path, keyring: Keyring) -> None:
        self._keyring = keyring
        self._blobs = root / "blobs"
        self._tmp_root = root / "tmp"
        self._blobs.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._tmp_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Sweeping and claiming happen under a lock on tmp/ itself, so a sweeper in another process never
        # sees our directory in the instant between its creation and its lock.
        root_fd = _lock_dir(self._tmp_root)
        try:
            self._sweep_dead_temp_dirs()
            self._tmp = self._tmp_root / uuid.uuid4().hex
            self._tmp.mkdir(mode=0o700)
            self._lock_fd = _lock_dir(self._tmp)
        finally:
            os.close(root_fd)

    @property
    def tmp_dir(self) -> Path:
        return self._tmp

    def path(self, blob_id: str) -> Path:
        return self._blobs / blob_id[:2] / blob_id

    def new_writer(self, extra_hashes: Collection[str] = ()) -> BlobWriter:
        return BlobWriter(self._tmp / uuid.uuid4().hex, self._keyring, extra_hashes)

    def publish(self, tmp_path: Path) -> str:
        """Move a finished temp file to its permanent, unique name; returns the new blob id."""
        blob_id = uuid.uuid4().hex
        dest = self.path(blob_id)
        dest.parent.mkdir(mode=0o700, exist_ok=True)
        os.rename(tmp_path, dest)
        fsync_dir(dest.parent)
        return blob_id

    def link(self, blob_id: str) -> str:
        """A new blob id for the same bytes (a hard link: blobs are immutable, so sharing is safe)."""
        tmp = self._tmp / uuid.uuid4().hex
        os.link(self.path(blob_id), tmp)
        os.utime(tmp)  # a fresh mtime keeps the orphan sweep's grace period meaningful for copies
        return self.publish(tmp)

    def reseal(self, blobs: Sequence[tuple[str, int]]) -> str:
        """A new blob holding the plaintexts of `(blob id, size)` one after the other, under a new data key
        (each part has its own), fsynced and published. FileNotFoundError if one of them is gone."""
        tmp = self._tmp / uuid.uuid4().hex
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            sealer = SegmentWriter(out, self._keyring)
            for blob_id, size in blobs:
                with contextlib.closing(self.open(blob_id, size)) as part:
                    step = part.geometry.segment_bytes  # one segment a read: decrypted straight, never joined
                    for offset in range(0, size, step):
                        sealer.write(part.read_at(offset, step))
            sealer.finish()
            os.fsync(out)
        except BaseException:
            os.close(out)
            tmp.unlink(missing_ok=True)
            raise
        os.close(out)
        return self.publish(tmp)

    def open(self, blob_id: str, size: int) -> SegmentReader:
        """A reader of the blob's `size` plaintext bytes; FileNotFoundError if a concurrent writer just
        replaced it, SealError if its header does not authenticate or its length is wrong."""
        fd = os.open(self.path(blob_id), os.O_RDONLY | os.O_CLOEXEC)
        try:
            return SegmentReader(fd, self._keyring, size)
        except BaseException:
            os.close(fd)
            raise

    def unlink(self, blob_ids: Collection[str]) -> None:
        for blob_id in blob_ids:
            with contextlib.suppress(FileNotFoundError):
                self.path(blob_id).unlink()

    def iter_blob_ids(self, shard: str) -> Iterator[tuple[str, float]]:
        """(blob id, mtime) of every blob in one `blobs/<shard>/` directory."""
        with contextlib.suppress(FileNotFoundError), os.scandir(self._blobs / shard) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    yield entry.name, entry.stat().st_mtime

    def shards(self) -> list[str]:
        return sorted(entry.name for entry in os.scandir(self._blobs) if entry.is_dir())

    def close(self) -> None:
        """Release our temp directory (its files belong to unfinished writers, which are void)."""
        if self._lock_fd >= 0:
            shutil.rmtree(self._tmp, ignore_errors=True)
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _sweep_dead_temp_dirs(self) -> None:
        for entry in self._tmp_root.iterdir():
            if not entry.is_dir():
                entry.unlink(missing_ok=True)
                continue
            fd = _try_lock_dir(entry)
            if fd is not None:  # nobody holds it: its owner died
                shutil.rmtree(entry, ignore_errors=True)
                os.close(fd)


def is_older_than(mtime: float, seconds: float) -> bool:
    return time.time() - mtime > seconds


def _lock_dir(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _try_lock_dir(path: Path) -> int | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
