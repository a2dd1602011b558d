"""Multipart operations: Create, UploadPart, UploadPartCopy, ListParts, Complete, Abort."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.api.s3 import body, errors, responses, xmlio
from app.api.s3.common import Target, call, int_param, meta_from_headers
from app.api.s3.object_operations import copy_source
from app.storage.multipart import MAX_PART_NUMBER
from app.storage.object_store import ObjectStore

_MAX_XML_BODY = 16 << 20  # 10,000 parts with checksums fit comfortably


async def create_upload(store: ObjectStore, request: Request, target: Target) -> Response:
    upload = await call(store.uploads.create, target.bucket, target.key, meta_from_headers(request.headers))
    algorithm = request.headers.get("x-amz-checksum-algorithm")
    headers = {"x-amz-checksum-algorithm": algorithm} if algorithm else {}
    return responses.xml(xmlio.initiate_upload(upload), headers={**responses.SSE, **headers})


async def upload_part(store: ObjectStore, request: Request, target: Target) -> Response:
    upload_id, number = _upload_id(request), _part_number(request)
    spec = body.body_spec(request.headers)
    writer = await call(
        store.uploads.open_part_writer,
        target.bucket,
        target.key,
        upload_id,
        number,
        extra_hashes=spec.extra_hashes,
    )
    part, echo = await body.receive_and_commit(request, spec, writer)
    return responses.empty(headers={"ETag": part.etag, **responses.SSE, **echo})


async def upload_part_copy(store: ObjectStore, request: Request, target: Target) -> Response:
    upload_id, number = _upload_id(request), _part_number(request)
    source = copy_source(request.headers["x-amz-copy-source"])
    await call(store.uploads.get, target.bucket, target.key, upload_id)
    with await call(store.open_object, source.bucket, source.key) as reader:
        start, end = _copy_range(request.headers.get("x-amz-copy-source-range"), reader.info.size)
        part = await call(
            store.uploads.copy_part, target.bucket, target.key, upload_id, number, reader.read_at, start, end
        )
    result = xmlio.copy_result("CopyPartResult", part.etag, part.last_modified)
    return responses.xml(result, headers=responses.SSE)


async def list_parts(store: ObjectStore, request: Request, target: Target) -> Response:
    marker = int_param(request.query_params, "part-number-marker", 0, 0, MAX_PART_NUMBER)
    max_parts = int_param(request.query_params, "max-parts", 1000, 0, 1000)
    page = await call(
        store.uploads.list_parts,
        target.bucket,
        target.key,
        _upload_id(request),
        after=marker,
        max_parts=max_parts,
    )
    return responses.xml(xmlio.list_parts(page, marker, max_parts))


async def complete_upload(store: ObjectStore, request: Request, target: Target) -> Response:
    parts = xmlio.parse_complete(await body.read_small_body(request, _MAX_XML_BODY))
    info = await call(store.uploads.complete, target.bucket, target.key, _upload_id(request), parts)
    location = f"{request.base_url}{target.bucket}/{target.key}"
    return responses.xml(xmlio.complete_upload(location, info), headers=responses.SSE)


async def abort_upload(store: ObjectStore, request: Request, target: Target) -> Response:
    await call(store.uploads.abort, target.bucket, target.key, _upload_id(request))
    return responses.empty(204)


def _upload_id(request: Request) -> str:
    return request.query_params["uploadId"]


def _part_number(request: Request) -> int:
    raw = request.query_params.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PART_NUMBER:
        message = f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
        raise errors.invalid_argument(message, "partNumber", raw)
    return int(raw)


def _copy_range(header: str | None, size: int) -> tuple[int, int]:
    if header is None:
        return 0, size
    byte_range = responses.parse_range(header, size)
    if byte_range is None or header.strip().startswith("bytes=-"):
        raise errors.invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last",
            "x-amz-copy-source-range",
            header,
        )
    return byte_range
