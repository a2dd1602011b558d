"""Request bodies: stream them into a store writer (decoding aws-chunked) and check their digests.

The event loop receives and decodes; worker threads hash (MD5 in a thread of its own, see
`app.storage.hashing`) and write batches of a few MiB. Receiving batch N+1 overlaps with writing batch
N (a one-slot queue), so memory stays bounded per upload whatever the object size, and the loop never
blocks on the disk.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request

from app.api.edge.payload import chunk_check
from app.api.s3 import errors
from app.api.s3.chunked import AwsChunkedDecoder, ChunkedError, ChunkSignatureError
from app.api.s3.common import call
from app.storage.models import Digests, crc32_to_b64
from app.storage.types import Buffer
from app.storage.writer import Writer

T = TypeVar("T")

_BATCH_BYTES = 4 << 20
# x-amz-checksum-<name> -> hashlib name we can verify in the same pass (crc32 is always computed).
_HASHLIB_CHECKSUMS = {"sha1": "sha1", "sha256": "sha256"}
# x-amz-content-sha256 of aws-chunked bodies: STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-...
_STREAMING_SHA256 = "STREAMING-"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NOT_CHECKSUM_VALUES = {"x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-checksum-mode"}


@dataclass(frozen=True)
class BodySpec:
    """What the headers promise about the body."""

    aws_chunked: bool
    decoded_length: int | None
    content_md5: bytes | None
    checksum_header: tuple[str, str] | None  # ("crc32", base64 value) from an x-amz-checksum-* header
    trailer: str | None  # "x-amz-checksum-crc32" announced by x-amz-trailer
    # The hex SHA-256 the body was signed with (x-amz-content-sha256); the stored bytes must have it.
    content_sha256: str | None = None

    @property
    def extra_hashes(self) -> list[str]:
        names = [self.checksum_header[0]] if self.checksum_header else []
        if self.content_sha256:
            names.append("sha256")
        if self.trailer:
            names.append(self.trailer.removeprefix("x-amz-checksum-"))
        return [_HASHLIB_CHECKSUMS[name] for name in names if name in _HASHLIB_CHECKSUMS]


def body_spec(headers: Mapping[str, str]) -> BodySpec:
    encodings = [part.strip().lower() for part in headers.get("content-encoding", "").split(",")]
    sha256 = headers.get("x-amz-content-sha256", "")
    aws_chunked = "aws-chunked" in encodings or sha256.startswith(_STREAMING_SHA256)
    decoded = headers.get("x-amz-decoded-content-length")
    checksums = [(n[len("x-amz-checksum-") :], v) for n, v in headers.items() if _is_checksum_header(n)]
    trailer = headers.get("x-amz-trailer", "").strip().lower() or None
    declared = sha256.strip().lower()
    return BodySpec(
        aws_chunked=aws_chunked,
        decoded_length=_int_header("x-amz-decoded-content-length", decoded) if decoded else None,
        content_md5=_content_md5(headers.get("content-md5")),
        checksum_header=checksums[0] if checksums else None,
        trailer=trailer,
        content_sha256=declared if _HEX64.fullmatch(declared) and not aws_chunked else None,
    )


async def receive_and_commit(request: Request, spec: BodySpec, writer: Writer[T]) -> tuple[T, dict[str, str]]:
    """Stream the body in, check its digests, commit; any failure (or a disconnect) aborts the writer.
    Returns the commit's result and the checksum headers to echo."""
    with writer:
        trailers = await receive_into(request, spec, writer)
        echo = verify(spec, await call(writer.finish), trailers)
        return await call(writer.commit), echo


async def receive_into(request: Request, spec: BodySpec, writer: Writer[Any]) -> dict[str, str]:
    """Stream the body into `writer` (not committed); returns the aws-chunked trailers."""
    decoder = _decoder(request) if spec.aws_chunked else None
    send, receive = anyio.create_memory_object_stream[Sequence[Buffer]](max_buffer_size=1)

    async def write_batches() -> None:
        async with receive:
            async for batch in receive:
                await anyio.to_thread.run_sync(writer.write_many, batch)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(write_batches)
            async with send:
                async for batch in _batches(_pieces(request, decoder)):
                    await send.send(batch)
    except BaseExceptionGroup as group_error:
        raise _first(group_error) from None
    if decoder is not None:
        _finish(decoder)
    if spec.decoded_length is not None and writer.size != spec.decoded_length:
        raise errors.incomplete_body()
    return decoder.trailers if decoder else {}


async def read_small_body(request: Request, limit: int) -> bytes:
    """An XML request body (DeleteObjects, CompleteMultipartUpload, CreateBucket) of at most `limit`."""
    spec = body_spec(request.headers)
    decoder = _decoder(request) if spec.aws_chunked else None
    chunks: list[bytes] = []
    size = 0
    async for pieces in _pieces(request, decoder):
        for piece in pieces:
            size += len(piece)
            if size > limit:
                raise errors.S3Error("MaxMessageLengthExceeded", "Your request was too big.")
            chunks.append(bytes(piece))
    if decoder is not None:
        _finish(decoder)
    body = b"".join(chunks)
    if spec.content_sha256 is not None and hashlib.sha256(body).hexdigest() != spec.content_sha256:
        raise sha256_mismatch()
    return body


def verify(spec: BodySpec, digests: Digests, trailers: Mapping[str, str]) -> dict[str, str]:
    """Raise XAmzContentSHA256Mismatch or BadDigest on a mismatch; returns the checksum headers to echo
    (`x-amz-checksum-crc32`)."""
    if spec.content_sha256 is not None and digests.extra["sha256"].hex() != spec.content_sha256:
        raise sha256_mismatch()
    if spec.content_md5 is not None and spec.content_md5 != digests.md5:
        raise errors.bad_digest("Content-MD5")
    claimed = dict([spec.checksum_header] if spec.checksum_header else [])
    if spec.trailer:
        if spec.trailer not in trailers:
            raise errors.S3Error(
                "InvalidRequest", f"The trailing checksum {spec.trailer} was announced but not sent."
            )
        claimed[spec.trailer.removeprefix("x-amz-checksum-")] = trailers[spec.trailer]
    echo: dict[str, str] = {}
    for name, value in claimed.items():
        actual = _actual_checksum(name, digests)
        if actual is not None and actual != value:
            raise errors.bad_digest(name.upper())
        if actual is not None:
            echo[f"x-amz-checksum-{name}"] = actual
    return echo


def _actual_checksum(name: str, digests: Digests) -> str | None:
    if name == "crc32":
        return crc32_to_b64(digests.crc32)
    digest = digests.extra.get(_HASHLIB_CHECKSUMS.get(name, ""))
    return None if digest is None else base64.b64encode(digest).decode("ascii")


def sha256_mismatch() -> errors.S3Error:
    return errors.S3Error(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )


def _decoder(request: Request) -> AwsChunkedDecoder:
    return AwsChunkedDecoder(signatures=chunk_check(request.scope))


async def _pieces(request: Request, decoder: AwsChunkedDecoder | None) -> AsyncIterator[Sequence[Buffer]]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield decoder.feed(chunk) if decoder else (chunk,)
    except ChunkSignatureError as exc:
        raise errors.S3Error("SignatureDoesNotMatch", str(exc), 403) from exc
    except ChunkedError as exc:
        raise errors.S3Error("InvalidRequest", f"Invalid aws-chunked body: {exc}") from exc


async def _batches(pieces: AsyncIterator[Sequence[Buffer]]) -> AsyncIterator[list[Buffer]]:
    batch: list[Buffer] = []
    size = 0
    async for group in pieces:
        batch.extend(group)
        size += sum(len(piece) for piece in group)
        if size >= _BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _finish(decoder: AwsChunkedDecoder) -> None:
    try:
        decoder.finish()
    except ChunkedError as exc:
        raise errors.incomplete_body() from exc


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The task group's one meaningful error (a disconnect or a disk error), unwrapped."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first(exc)
        if isinstance(exc, (errors.S3Error, ClientDisconnect)):
            return exc
    return group.exceptions[0]


def _is_checksum_header(name: str) -> bool:
    return name.startswith("x-amz-checksum-") and name not in _NOT_CHECKSUM_VALUES


def _content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 16:
        raise errors.S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.")
    return digest


def _int_header(name: str, value: str) -> int:
    if not value.isdigit():
        raise errors.invalid_argument(f"{name} must be a non-negative integer", name, value)
    return int(value)
