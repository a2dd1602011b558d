"""What every S3 handler shares: the addressed bucket/key, store calls off the event loop, metadata."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ParamSpec, TypeVar
from urllib.parse import unquote, unquote_to_bytes

import anyio.to_thread
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import Scope

from app.api import deps
from app.api.s3 import errors
from app.storage.models import DEFAULT_CONTENT_TYPE, STORED_HEADERS, ObjectMeta
from app.storage.object_store import ObjectStore

P = ParamSpec("P")
T = TypeVar("T")

# A `%` not followed by two hex digits: percent-decoding would keep it as it is, silently.
_BROKEN_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_MAX_USER_METADATA = 2048
_META_PREFIX = "x-amz-meta-"


@dataclass(frozen=True)
class Target:
    """The bucket and key a path-style request addresses (either may be empty)."""

    bucket: str
    key: str


def decoded_path(scope: Scope) -> str:
    """The request's path, percent-decoded from the raw bytes as UTF-8; `InvalidURI` (400) for a broken
    escape or bytes that are not UTF-8, as S3 answers -- never U+FFFD, which would make different keys
    collide."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    raw = raw.partition(b"?")[0]
    if _BROKEN_ESCAPE.search(raw):
        raise errors.invalid_uri()
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.invalid_uri() from None


async def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking store call in the worker threads (SQLite commits and fsyncs must not stall the loop)."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def account_of(request: Request) -> str:
    """The account the request acts for: the verified caller's (fail closed without one)."""
    return deps.caller_of(request).account_id


async def authorize(store: ObjectStore, request: Request, target: Target, *, creating: bool) -> None:
    """Bucket names are global, their contents are not: every bucket a request touches (the addressed
    one, unless it is being created, and a copy's source) must belong to the caller's account, or
    AccessDenied, as S3 answers for another account's bucket."""
    account = account_of(request)
    if target.bucket and not creating:
        await call(store.check_owner, target.bucket, account)
    source = request.headers.get("x-amz-copy-source")
    if source:
        source_bucket = unquote(source.partition("?")[0]).lstrip("/").partition("/")[0]
        await call(store.check_owner, source_bucket, account)


def meta_from_headers(headers: Mapping[str, str]) -> ObjectMeta:
    """Content-Type, the standard headers S3 stores, and x-amz-meta-* (names lower-cased, as S3 does)."""
    user = {
        name[len(_META_PREFIX) :]: value for name, value in headers.items() if name.startswith(_META_PREFIX)
    }
    if sum(len(name.encode()) + len(value.encode()) for name, value in user.items()) > _MAX_USER_METADATA:
        raise errors.S3Error(
            "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size."
        )
    stored = {name: headers.get(name.lower(), "") for name in STORED_HEADERS}
    stored["Content-Encoding"] = _without_aws_chunked(stored["Content-Encoding"])
    return ObjectMeta(
        content_type=headers.get("content-type") or DEFAULT_CONTENT_TYPE,
        user_metadata=user,
        headers={name: value for name, value in stored.items() if value},
    )


def _without_aws_chunked(value: str) -> str:
    """aws-chunked describes the transfer, not the object: S3 drops it from the stored Content-Encoding."""
    return ",".join(part for part in value.split(",") if part.strip().lower() not in ("aws-chunked", ""))


def int_param(query: QueryParams, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter, clamped to `[low, high]` as S3 clamps max-keys and friends."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().lstrip("-").isdigit():
        raise errors.invalid_argument(f"Provided {name} not an integer or within integer range", name, raw)
    value = int(raw)
    if value < low:
        raise errors.invalid_argument(
            f"Argument {name} must be an integer between {low} and 2147483647", name, raw
        )
    return min(value, high)
