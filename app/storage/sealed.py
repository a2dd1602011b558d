"""Reading and writing sealed blobs (format: `segments`): plaintext in and out, segments on disk."""

from __future__ import annotations

import os
from collections.abc import Sequence

from app.crypto.keyring import Keyring
from app.storage.segments import (
    SEGMENT_BYTES,
    TAG_BYTES,
    Geometry,
    SealError,
    SegmentCipher,
    new_header,
    read_header,
)
from app.storage.types import Buffer

_IOV_MAX = 1024
_FLUSH_BYTES = 1 << 20  # sealed segments are written out in batches of about this size


class SegmentWriter:
    """Seals plaintext into an open file, segment by segment, with constant memory.

    A full segment is sealed only once the next byte arrives (or `finish` is called), because whether it
    is the final one is part of what it authenticates."""

    def __init__(self, fd: int, keyring: Keyring, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        header, self._cipher = new_header(keyring, segment_bytes)
        self._fd = fd
        self._segment = header.segment_bytes
        self._pending = bytearray(self._segment)
        self._filled = 0
        self._index = 0
        per_batch = max(1, _FLUSH_BYTES // self._segment)
        self._out = memoryview(bytearray(per_batch * (self._segment + TAG_BYTES)))
        self._used = 0
        encoded = header.encode()
        write_all(fd, (encoded,))
        self.file_bytes = len(encoded)  # bytes in the file so far
        self.plain_bytes = 0  # plaintext bytes written so far

    def write(self, data: Buffer) -> None:
        view = memoryview(data).cast("B")
        self.plain_bytes += len(view)
        while view:
            if self._filled == self._segment:  # more bytes follow a full segment: it is not the last
                self._seal(self._pending, final=False)
                self._filled = 0
            if self._filled == 0 and len(view) > self._segment:  # seal straight from the caller's buffer
                self._seal(view[: self._segment], final=False)
                view = view[self._segment :]
                continue
            take = min(self._segment - self._filled, len(view))
            self._pending[self._filled : self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]

    def finish(self) -> None:
        """Seal the last segment (possibly empty) and write everything out; the caller fsyncs."""
        self._seal(memoryview(self._pending)[: self._filled], final=True)
        self._flush()

    def _seal(self, plain: Buffer, *, final: bool) -> None:
        size = len(plain) + TAG_BYTES
        if self._used + size > len(self._out):
            self._flush()
        out = self._out[self._used : self._used + size]
        self._cipher.seal_into(self._index, final=final, plain=plain, out=out)
        self._used += size
        self._index += 1

    def _flush(self) -> None:
        write_all(self._fd, (self._out[: self._used],))
        self.file_bytes += self._used
        self._used = 0


class SegmentReader:
    """Random access to the plaintext of an open sealed blob of a known size; one thread at a time.

    The size comes from the index, and the file must be exactly as long as that size implies: a
    truncated (or extended) blob is refused at open, before anything is sent."""

    def __init__(self, fd: int, keyring: Keyring, size: int) -> None:
        header, header_bytes = read_header(fd)
        self._cipher: SegmentCipher = header.cipher(keyring)
        self.geometry = Geometry(header_bytes, header.segment_bytes, size)
        actual = os.fstat(fd).st_size
        if actual != self.geometry.file_bytes:
            raise SealError(f"the blob holds {actual} bytes, {self.geometry.file_bytes} expected")
        self._fd = fd
        self._sealed = bytearray()  # reused between reads: only plaintext leaves this object
        if size == 0:
            self._open_segments(0, 0)  # nothing will be read: authenticate the empty final segment now

    def read_at(self, offset: int, size: int) -> bytes:
        """Plaintext `[offset, offset + size)` (clipped to the blob), decrypting only the segments in it."""
        g = self.geometry
        end = min(offset + size, g.size)
        if offset >= end:
            return b""
        first, last = offset // g.segment_bytes, (end - 1) // g.segment_bytes
        plain = self._open_segments(first, last)
        skip = offset - first * g.segment_bytes
        if len(plain) == 1 and skip == 0 and len(plain[0]) == end - offset:
            return plain[0]  # the common case: one whole segment, sent as it was decrypted
        return b"".join(plain)[skip : skip + end - offset]

    def file_offset(self, offset: int) -> int:
        """Where in the file the segment holding plaintext byte `offset` starts (for page-cache hints)."""
        return self.geometry.file_offset(min(offset, self.geometry.size) // self.geometry.segment_bytes)

    def fileno(self) -> int:
        """The sealed file, for page-cache hints only: its bytes are ciphertext."""
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def _open_segments(self, first: int, last: int) -> list[bytes]:
        g = self.geometry
        start = g.file_offset(first)
        count = g.file_offset(last) + g.plain_bytes(last) + TAG_BYTES - start
        if len(self._sealed) < count:
            self._sealed = bytearray(count)
        sealed = memoryview(self._sealed)[:count]
        if os.preadv(self._fd, [sealed], start) != count:
            raise SealError("the blob ended early")
        plain: list[bytes] = []
        for index in range(first, last + 1):
            at = (index - first) * (g.segment_bytes + TAG_BYTES)
            segment = sealed[at : at + g.plain_bytes(index) + TAG_BYTES]
            plain.append(self._cipher.open(index, final=index == g.segments - 1, sealed=segment))
        return plain


def write_all(fd: int, chunks: Sequence[Buffer]) -> None:
    """writev every byte of `chunks` (writev may write less than asked)."""
    views = [memoryview(chunk).cast("B") for chunk in chunks if len(chunk)]
    start = 0
    while start < len(views):
        written = os.writev(fd, views[start : start + _IOV_MAX])
        while start < len(views) and written >= len(views[start]):
            written -= len(views[start])
            start += 1
        if written:
            views[start] = views[start][written:]
