"""Responses: XML documents, object headers, Range and conditional requests, streaming from disk."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import datetime

import anyio
import anyio.abc
import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.api.s3 import errors
from app.storage.models import ObjectInfo
from app.storage.object_store import ObjectReader

XML = "application/xml"
# Every object is encrypted at rest (app.storage.segments); S3 says so on every response about its bytes.
SSE = {"x-amz-server-side-encryption": "AES256"}
_CHUNK = 1 << 20
_READ_AHEAD = 4  # chunks read ahead of the socket
_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")
# GetObject query parameters that override response headers (used by presigned URLs).
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def xml(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=dict(headers or {}), media_type=XML)


def empty(status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(b"", status_code=status, headers=dict(headers or {}))
    return response


def http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.replace(microsecond=0), usegmt=True)


def object_headers(info: ObjectInfo, *, with_checksum: bool) -> dict[str, str]:
    """Headers of GetObject/HeadObject: stored metadata, ETag, dates and (if asked) the CRC32."""
    headers = {
        "Content-Type": info.meta.content_type,
        "ETag": info.etag,
        "Last-Modified": http_date(info.last_modified),
        "Accept-Ranges": "bytes",
        **SSE,
        **info.meta.headers,
        **{f"x-amz-meta-{name}": value for name, value in info.meta.user_metadata.items()},
    }
    if with_checksum and info.crc32_b64 is not None:
        headers["x-amz-checksum-crc32"] = info.crc32_b64
        headers["x-amz-checksum-type"] = "FULL_OBJECT"
    return headers


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`(start, end)` (end exclusive) for a satisfiable single range; None means the whole object
    (no header, or one S3 ignores: malformed or multiple ranges). Unsatisfiable: InvalidRange."""
    match = _RANGE.fullmatch(header or "")
    if match is None or not (match[1] or match[2]):
        return None
    if not match[1]:
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            raise _invalid_range(header or "", size)
        return max(size - suffix, 0), size
    start = int(match[1])
    if match[2] and int(match[2]) < start:
        return None  # "bytes=9-3" is not a valid range: RFC 9110 says ignore it
    if start >= size:
        raise _invalid_range(header or "", size)
    return start, min(int(match[2]) + 1, size) if match[2] else size


def _invalid_range(header: str, size: int) -> errors.S3Error:
    return errors.S3Error(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        RangeRequested=header,
        ActualObjectSize=str(size),
    )


def not_modified(headers: Mapping[str, str], info: ObjectInfo) -> bool:
    """Evaluate If-Match / If-Unmodified-Since (raise 412) and If-None-Match / If-Modified-Since
    (True: answer 304), with RFC 7232's precedence, which S3 follows."""
    modified = info.last_modified.replace(microsecond=0)
    if "if-match" in headers:
        if not _etag_matches(headers["if-match"], info.etag):
            raise errors.precondition_failed("If-Match")
    elif _before(headers.get("if-unmodified-since"), modified):
        raise errors.precondition_failed("If-Unmodified-Since")
    if "if-none-match" in headers:
        return _etag_matches(headers["if-none-match"], info.etag)
    since = _parse_date(headers.get("if-modified-since"))
    return since is not None and modified <= since


def _etag_matches(header: str, etag: str) -> bool:
    candidates = {value.strip().removeprefix("W/").strip('"') for value in header.split(",")}
    return "*" in candidates or etag.strip('"') in candidates


def _before(header: str | None, modified: datetime) -> bool:
    limit = _parse_date(header)
    return limit is not None and modified > limit


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # S3 ignores conditions with unparseable dates


class ObjectBodyResponse(Response):
    """Bytes `[start, end)` of an open object, streamed from disk with constant memory.

    A reader task reads chunks in a worker thread up to `_READ_AHEAD` chunks ahead of the socket, so
    disk reads overlap network sends; the kernel is told the access is sequential (larger readahead), and
    large objects do not linger in the page cache (see `ObjectReader.read_at`).
    The object's reader is closed when the response ends, however it ends, and a client that goes away
    stops the reads (a watcher cancels everything on `http.disconnect`). Bytes that fail to decrypt
    (`CorruptObject`) raise out of the response after its start: the server then drops the connection
    short of `Content-Length`, so a client never takes a partial body for the object.
    """

    def __init__(
        self, reader: ObjectReader, start: int, end: int, status: int, headers: dict[str, str]
    ) -> None:
        super().__init__(status_code=status, headers={**headers, "Content-Length": str(end - start)})
        self._reader = reader
        self._start = start
        self._end = end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            if scope["method"] == "HEAD" or self._start == self._end:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await self._stream(receive, send)
        finally:
            self._reader.close()

    async def _stream(self, receive: Receive, send: Send) -> None:
        chunks, received = anyio.create_memory_object_stream[bytes](max_buffer_size=_READ_AHEAD)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
                group.start_soon(self._read_chunks, chunks)
                offset = self._start
                async with received:
                    async for data in received:
                        offset += len(data)
                        await send(
                            {"type": "http.response.body", "body": data, "more_body": offset < self._end}
                        )
                group.cancel_scope.cancel()
        except BaseExceptionGroup as group_error:
            raise group_error.exceptions[0] from None

    async def _read_chunks(self, chunks: anyio.abc.ObjectSendStream[bytes]) -> None:
        reader = self._reader
        reader.advise_sequential(self._start, self._end)
        async with chunks:
            for offset, size in reader.spans(self._start, self._end, _CHUNK):
                data = await anyio.to_thread.run_sync(reader.read_at, offset, size)
                if len(data) != size:
                    raise OSError(f"object {reader.info.key!r} is shorter than its index entry")
                await chunks.send(data)


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
