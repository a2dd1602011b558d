"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, CopyObject."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from app.api.s3 import body, errors, responses, xmlio
from app.api.s3.common import Target, call, meta_from_headers
from app.storage.models import ObjectMeta
from app.storage.object_store import ObjectReader, ObjectStore

_COPY_TO_SELF = (
    "This copy request is illegal because it is trying to copy an object to itself without changing the "
    "object's metadata, storage class, website redirect location or encryption attributes."
)


async def put_object(store: ObjectStore, request: Request, target: Target) -> Response:
    spec = body.body_spec(request.headers)
    meta = meta_from_headers(request.headers)
    writer = await call(store.open_writer, target.bucket, target.key, meta, extra_hashes=spec.extra_hashes)
    info, echo = await body.receive_and_commit(request, spec, writer)
    return responses.empty(headers={"ETag": info.etag, **responses.SSE, **echo})


async def get_object(store: ObjectStore, request: Request, target: Target) -> Response:
    reader = await call(store.open_object, target.bucket, target.key)
    try:
        return _object_response(request, reader)
    except BaseException:
        reader.close()
        raise


async def head_object(store: ObjectStore, request: Request, target: Target) -> Response:
    return await get_object(store, request, target)  # same headers; ObjectBodyResponse sends no body for HEAD


async def delete_object(store: ObjectStore, request: Request, target: Target) -> Response:
    await call(store.delete_object, target.bucket, target.key)
    return responses.empty(204)


async def copy_object(store: ObjectStore, request: Request, target: Target) -> Response:
    source = copy_source(request.headers["x-amz-copy-source"])
    replace = request.headers.get("x-amz-metadata-directive", "COPY").upper() == "REPLACE"
    if source == target and not replace:
        raise errors.S3Error("InvalidRequest", _COPY_TO_SELF)
    meta: ObjectMeta | None = meta_from_headers(request.headers) if replace else None
    info = await call(store.copy_object, source.bucket, source.key, target.bucket, target.key, meta)
    result = xmlio.copy_result("CopyObjectResult", info.etag, info.last_modified)
    return responses.xml(result, headers=responses.SSE)


def copy_source(header: str) -> Target:
    """`x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, URL-encoded."""
    path = unquote(header.partition("?")[0]).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise errors.invalid_argument(
            "Copy Source must mention the source bucket and key", "x-amz-copy-source", header
        )
    return Target(bucket, key)


def _object_response(request: Request, reader: ObjectReader) -> Response:
    info = reader.info
    if request.query_params.get("partNumber", "1") != "1":
        # Part boundaries are not kept after CompleteMultipartUpload: every object reads as one part
        # (no x-amz-mp-parts-count), so clients that download by part number fetch part 1 = everything.
        raise errors.S3Error("InvalidPartNumber", "The requested partnumber is not satisfiable", 416)
    checksum_mode = request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    if responses.not_modified(request.headers, info):
        reader.close()
        return responses.empty(
            304, {"ETag": info.etag, "Last-Modified": responses.http_date(info.last_modified)}
        )
    byte_range = responses.parse_range(request.headers.get("range"), info.size)
    headers = responses.object_headers(info, with_checksum=checksum_mode and byte_range is None)
    headers.update(_overrides(request))
    if byte_range is None:
        return responses.ObjectBodyResponse(reader, 0, info.size, 200, headers)
    start, end = byte_range
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return responses.ObjectBodyResponse(reader, start, end, 206, headers)


def _overrides(request: Request) -> dict[str, str]:
    query = request.query_params
    return {header: query[name] for name, header in responses.RESPONSE_OVERRIDES.items() if name in query}
