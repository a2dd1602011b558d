"""Service- and bucket-level operations: ListBuckets, Create/Head/DeleteBucket, ListObjects(V2),
DeleteObjects, ListMultipartUploads, GetBucketLocation."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import Response

from app.api.s3 import errors, responses, xmlio
from app.api.s3.body import read_small_body
from app.api.s3.common import Target, account_of, call, int_param
from app.errors import ServiceError
from app.storage import errors as storage_errors
from app.storage.object_store import ObjectStore

REGION = "us-east-1"
_MAX_XML_BODY = 4 << 20


async def list_buckets(store: ObjectStore, request: Request, target: Target) -> Response:
    prefix = request.query_params.get("prefix")
    owned = await call(store.list_buckets, owner=account_of(request))
    buckets = [b for b in owned if b.name.startswith(prefix or "")]
    return responses.xml(xmlio.list_buckets(buckets, prefix))


async def create_bucket(store: ObjectStore, request: Request, target: Target) -> Response:
    body = await read_small_body(request, _MAX_XML_BODY)
    if body.strip():
        xmlio.parse(body)  # CreateBucketConfiguration: any region is accepted; one store serves them all
    await call(store.create_bucket, target.bucket, owner=account_of(request))
    return responses.empty(headers={"Location": f"/{target.bucket}"})


async def head_bucket(store: ObjectStore, request: Request, target: Target) -> Response:
    await call(store.head_bucket, target.bucket)
    return responses.empty(headers={"x-amz-bucket-region": REGION})


async def delete_bucket(store: ObjectStore, request: Request, target: Target) -> Response:
    await call(store.delete_bucket, target.bucket)
    return responses.empty(204)


async def get_bucket_location(store: ObjectStore, request: Request, target: Target) -> Response:
    await call(store.head_bucket, target.bucket)
    return responses.xml(xmlio.location(REGION))


async def list_objects_v2(store: ObjectStore, request: Request, target: Target) -> Response:
    query = request.query_params
    echo = _echo(request, target, fetch_owner=query.get("fetch-owner") == "true")
    token = query.get("continuation-token")
    start_after = query.get("start-after", "")
    after = _decode_token(token) if token is not None else start_after
    page = await call(
        store.list_objects,
        target.bucket,
        prefix=echo.prefix,
        delimiter=echo.delimiter,
        after=after,
        max_keys=echo.max_keys,
    )
    tokens = {
        "ContinuationToken": token,
        "NextContinuationToken": _encode_token(page.last) if page.is_truncated and page.last else None,
        "StartAfter": echo.encode(start_after) if start_after else None,
    }
    return responses.xml(xmlio.list_objects_v2(echo, page, tokens))


async def list_objects_v1(store: ObjectStore, request: Request, target: Target) -> Response:
    echo = _echo(request, target, fetch_owner=True)
    marker = request.query_params.get("marker", "")
    page = await call(
        store.list_objects,
        target.bucket,
        prefix=echo.prefix,
        delimiter=echo.delimiter,
        after=marker,
        max_keys=echo.max_keys,
    )
    return responses.xml(xmlio.list_objects_v1(echo, page, marker))


async def delete_objects(store: ObjectStore, request: Request, target: Target) -> Response:
    keys, quiet = xmlio.parse_delete(await read_small_body(request, _MAX_XML_BODY))
    await call(store.head_bucket, target.bucket)
    deleted: list[str] = []
    failed: list[tuple[str, ServiceError]] = []
    for key in keys:
        try:
            await call(store.delete_object, target.bucket, key)
            deleted.append(key)
        except storage_errors.StorageError as exc:
            failed.append((key, exc))
    return responses.xml(xmlio.delete_result(deleted, failed, quiet))


async def list_multipart_uploads(store: ObjectStore, request: Request, target: Target) -> Response:
    max_uploads = int_param(request.query_params, "max-uploads", 1000, 0, 1000)
    prefix = request.query_params.get("prefix", "")
    uploads = await call(
        store.uploads.list_uploads, target.bucket, prefix=prefix, max_uploads=max_uploads + 1
    )
    body = xmlio.list_uploads(target.bucket, uploads[:max_uploads], max_uploads, len(uploads) > max_uploads)
    return responses.xml(body)


def _echo(request: Request, target: Target, *, fetch_owner: bool) -> xmlio.ListEcho:
    query = request.query_params
    encoding = query.get("encoding-type")
    if encoding not in (None, "url"):
        raise errors.invalid_argument(
            "Invalid Encoding Method specified in Request", "encoding-type", encoding
        )
    return xmlio.ListEcho(
        bucket=target.bucket,
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        max_keys=int_param(query, "max-keys", 1000, 0, 1000),
        url_encode=encoding == "url",
        fetch_owner=fetch_owner,
    )


def _encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise errors.invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from None
