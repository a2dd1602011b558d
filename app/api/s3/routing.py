"""`create_s3_app`: path-style S3 over an `ObjectStore`, dispatched on method, path and subresource.

S3 routes on the query string as much as on the path (`POST /b/k?uploads` vs `POST /b/k?uploadId=…`),
so a small table does the dispatch instead of a path router. Query parameters that are not subresources
(botocore adds `x-id=GetObject`) are ignored. Every error, from the store or the protocol, is rendered
here once, as S3's XML with S3's status code (and no body for HEAD).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import unquote_to_bytes

from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.s3 import buckets, common, errors, multipart, object_operations, responses, xmlio
from app.api.s3.common import Target
from app.errors import ServiceError
from app.storage.object_store import ObjectStore

logger = logging.getLogger(__name__)

Handler = Callable[[ObjectStore, Request, Target], Awaitable[Response]]

# Subresources we do not implement: answering 501 beats silently treating `PUT /b?policy` as CreateBucket.
_UNSUPPORTED = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "attributes",
        "cors",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "tagging",
        "torrent",
        "versioning",
        "versions",
        "website",
    }
)


def create_s3_app(store: ObjectStore) -> ASGIApp:
    """An ASGI app serving the S3 API (path-style) for `store`; see `detect.is_s3_request` for routing."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        request = Request(scope, receive)
        response = await _respond(store, request)
        if response is not None:
            await response(scope, receive, send)

    return app


async def _respond(store: ObjectStore, request: Request) -> Response | None:
    request_id = secrets.token_hex(8).upper()
    try:
        target = _target(request.scope)
        handler = route(request.method, target, request.query_params, request.headers)
        await common.authorize(store, request, target, creating=handler is buckets.create_bucket)
        response = await handler(store, request, target)
    except ClientDisconnect:
        return None  # nobody to answer; the handler has already discarded what it was writing
    except ServiceError as exc:
        return error_response(request, exc, request_id)
    except Exception:
        logger.exception("s3 request failed", extra={"method": request.method, "path": request.url.path})
        internal = errors.S3Error("InternalError", "We encountered an internal error. Please try again.", 500)
        return error_response(request, internal, request_id)
    return _with_request_id(response, request_id)


def route(method: str, target: Target, query: QueryParams, headers: Mapping[str, str]) -> Handler:
    """The handler for a request, or raise MethodNotAllowed / NotImplemented."""
    unsupported = _UNSUPPORTED.intersection(query.keys())
    if unsupported:
        raise errors.not_implemented(f"The {sorted(unsupported)[0]} subresource")
    if not target.bucket:
        table: Mapping[str, Handler] = {"GET": buckets.list_buckets}
    elif not target.key:
        table = _bucket_table(query)
    else:
        table = _object_table(query, headers)
    handler = table.get("GET" if method == "HEAD" and "HEAD" not in table else method)
    if handler is None:
        raise errors.method_not_allowed(method)
    return handler


def _bucket_table(query: QueryParams) -> Mapping[str, Handler]:
    if "uploads" in query:
        return {"GET": buckets.list_multipart_uploads}
    if "location" in query:
        return {"GET": buckets.get_bucket_location}
    if "delete" in query:
        return {"POST": buckets.delete_objects}
    lister = buckets.list_objects_v2 if query.get("list-type") == "2" else buckets.list_objects_v1
    return {
        "GET": lister,
        "PUT": buckets.create_bucket,
        "HEAD": buckets.head_bucket,
        "DELETE": buckets.delete_bucket,
    }


def _object_table(query: QueryParams, headers: Mapping[str, str]) -> Mapping[str, Handler]:
    copying = "x-amz-copy-source" in headers
    if "uploads" in query:
        return {"POST": multipart.create_upload}
    if "uploadId" in query:
        return {
            "PUT": multipart.upload_part_copy if copying else multipart.upload_part,
            "GET": multipart.list_parts,
            "POST": multipart.complete_upload,
            "DELETE": multipart.abort_upload,
        }
    return {
        "PUT": object_operations.copy_object if copying else object_operations.put_object,
        "GET": object_operations.get_object,
        "HEAD": object_operations.head_object,
        "DELETE": object_operations.delete_object,
    }


def _target(scope: Scope) -> Target:
    """Bucket and key from the raw (still percent-encoded) path, so `%2F` and `+` survive exactly."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    raw = raw.partition(b"?")[0]
    try:
        path = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.S3Error("InvalidURI", "Couldn't parse the specified URI.") from None
    bucket, _, key = path.lstrip("/").partition("/")
    return Target(bucket, key)


def error_response(request: Request, exc: ServiceError, request_id: str) -> Response:
    """S3's XML error document (no body for HEAD), with S3's status and the request id headers."""
    # The body may be unread (a refusal before `100 Continue`, or mid-stream): botocore then skips sending
    # it and would reuse the connection, while the server still expects it. Closing keeps both in step.
    headers = {"Connection": "close"} if _has_body(request) else {}
    if request.method == "HEAD":
        return _with_request_id(responses.empty(exc.http_status, headers), request_id)
    body = xmlio.error(exc, request_id, request.url.path)
    return _with_request_id(responses.xml(body, exc.http_status, headers), request_id)


def _with_request_id(response: Response, request_id: str) -> Response:
    response.headers["x-amz-request-id"] = request_id
    response.headers["x-amz-id-2"] = request_id
    return response


def _has_body(request: Request) -> bool:
    return request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: the store's lifetime belongs to whoever created it."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
