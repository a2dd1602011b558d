"""Incremental decoder of `Content-Encoding: aws-chunked` request bodies.

The wire format (SigV4 streaming, and the unsigned variant with trailing checksums that recent botocore
sends for PutObject/UploadPart):

    <hex size>[;chunk-signature=<sig>]\\r\\n<size bytes>\\r\\n  ... repeated ...
    0[;chunk-signature=<sig>]\\r\\n
    [<trailer name>:<value>\\r\\n ...]\\r\\n

Data bytes are handed out as memoryview slices of the received buffers (no copy); only the short
header and trailer lines are buffered. With a `ChunkCheck` (signed streaming uploads), every chunk's
`chunk-signature` is checked as its data arrives, the final empty chunk's included.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Protocol

_MAX_LINE = 8192


class ChunkedError(ValueError):
    """The body is not valid aws-chunked encoding, or ended before the final chunk."""


class ChunkSignatureError(ChunkedError):
    """A chunk's signature is missing or is not the one its bytes and the chain of signatures give."""


class ChunkCheck(Protocol):
    """Verifies the chain of chunk signatures of one body (SigV4 streaming); raises ChunkSignatureError."""

    def begin_chunk(self, signature: str | None) -> None: ...

    def update(self, data: memoryview) -> None: ...

    def end_chunk(self) -> None: ...

    def end_body(self, trailers: Mapping[str, str]) -> None: ...


class _State(enum.Enum):
    HEADER = enum.auto()
    DATA = enum.auto()
    DATA_END = enum.auto()
    TRAILER = enum.auto()
    DONE = enum.auto()


class AwsChunkedDecoder:
    def __init__(self, *, signatures: ChunkCheck | None = None) -> None:
        self._state = _State.HEADER
        self._remaining = 0
        self._line = bytearray()
        self._signatures = signatures
        self.trailers: dict[str, str] = {}

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    def feed(self, data: bytes) -> list[memoryview]:
        """Decode one received buffer; returns the payload pieces it contained, in order."""
        out: list[memoryview] = []
        view = memoryview(data)
        pos = 0
        while pos < len(data):
            if self._state is _State.DATA:
                take = min(self._remaining, len(data) - pos)
                out.append(view[pos : pos + take])
                if self._signatures is not None:
                    self._signatures.update(view[pos : pos + take])
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._state = _State.DATA_END
                continue
            if self._state is _State.DONE:
                raise ChunkedError("data after the final aws-chunked chunk")
            pos = self._take_line(data, pos)
        return out

    def finish(self) -> None:
        if self._state is not _State.DONE:
            raise ChunkedError("the body ended before the final aws-chunked chunk")

    def _take_line(self, data: bytes, pos: int) -> int:
        end = data.find(b"\n", pos)
        stop = len(data) if end < 0 else end + 1
        self._line += data[pos:stop]
        if len(self._line) > _MAX_LINE:
            raise ChunkedError("aws-chunked header or trailer line too long")
        if end >= 0:
            line = bytes(self._line)
            self._line.clear()
            if not line.endswith(b"\r\n"):
                raise ChunkedError("aws-chunked lines must end with CRLF")
            self._on_line(line[:-2])
        return stop

    def _on_line(self, line: bytes) -> None:
        if self._state is _State.HEADER:
            self._on_header(line)
        elif self._state is _State.DATA_END:
            if line:
                raise ChunkedError("aws-chunked chunk longer than its declared size")
            self._end_chunk()
            self._state = _State.HEADER
        elif not line:  # TRAILER: the empty line ends the body
            self._state = _State.DONE
            if self._signatures is not None:
                self._signatures.end_body(self.trailers)
        else:
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise ChunkedError(f"malformed aws-chunked trailer {line[:100]!r}")
            self.trailers[name.strip().lower()] = value.strip()

    def _on_header(self, line: bytes) -> None:
        size_text, _, extension = line.partition(b";")
        size_text = size_text.strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ChunkedError(f"malformed aws-chunked chunk size {size_text[:32]!r}") from None
        if size < 0:
            raise ChunkedError("negative aws-chunked chunk size")
        self._remaining = size
        self._state = _State.DATA if size else _State.TRAILER
        if self._signatures is not None:
            self._signatures.begin_chunk(_chunk_signature(extension))
            if not size:
                self._signatures.end_chunk()

    def _end_chunk(self) -> None:
        if self._signatures is not None:
            self._signatures.end_chunk()


def _chunk_signature(extensions: bytes) -> str | None:
    for extension in extensions.split(b";"):
        name, _, value = extension.decode("latin-1").partition("=")
        if name.strip() == "chunk-signature":
            return value.strip()
    return None
