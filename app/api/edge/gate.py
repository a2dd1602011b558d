"""The edge: every request but the open ones is authenticated here, before any handler sees it.

Bodies are handled two ways. Small ones (the AWS JSON protocol, REST JSON) are read here under the
size limit, hashed into the signature's check, and replayed to the app. Object uploads (S3, REST `PUT
/v1/objects/...`) stream: the signature covers the hash the client declared (`x-amz-content-sha256`, or
the aws-chunked chunk signatures), and the code that stores the body checks it against that declaration
before anything is committed (`app.api.s3.body`), so a tampered upload stores nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from app.api.body import read_limited
from app.api.edge import refusals, surfaces
from app.api.edge.interim_sigv4 import AuthFailure, KeyLookup, Verified, verify_request
from app.api.edge.replay import replaying
from app.api.edge.surfaces import Surface
from app.clock import utcnow
from app.errors import ServiceError

# The clock skew AWS allows between a signature's X-Amz-Date and its arrival.
MAX_SKEW = dt.timedelta(minutes=15)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_MISSING_SHA256 = "Missing required header for this request: x-amz-content-sha256"


@dataclass(frozen=True)
class Admitted:
    """An authenticated request: what it verified as, and the `receive` the app must read it from."""

    verified: Verified
    receive: Receive


class Edge:
    """Authenticates requests against a key lookup; the wall clock, never a test's fake one, judges skew."""

    def __init__(self, *, now: Callable[[], dt.datetime] = utcnow, max_skew: dt.timedelta = MAX_SKEW) -> None:
        self._now = now
        self._max_skew = max_skew

    async def admit(
        self, scope: Scope, receive: Receive, send: Send, *, surface: Surface, keys: KeyLookup
    ) -> Admitted | None:
        """Verify the request; on success its caller is in `scope["state"]`, else it has been answered."""
        try:
            admitted = await self._verify(scope, receive, surface, keys)
        except AuthFailure as error:
            await refusals.refusal(surface, scope, error.reason, error.message)(scope, receive, send)
            return None
        except ServiceError as error:  # a body too large or malformed to read
            await refusals.failure(surface, scope, error)(scope, receive, send)
            return None
        state = scope.setdefault("state", {})
        state["caller"] = admitted.verified.caller
        state["signature"] = admitted.verified
        return admitted

    async def _verify(self, scope: Scope, receive: Receive, surface: Surface, keys: KeyLookup) -> Admitted:
        method, path = scope["method"], scope["path"]
        if surfaces.is_presigned(scope) and not surfaces.presign_allowed(surface, method, path):
            raise AuthFailure("unsupported", "Presigned URLs are accepted only for downloads and the S3 API.")
        headers = _headers(scope)
        if surfaces.streams_body(surface, method, path):
            body_sha256 = _declared_sha256(scope, headers)
        else:
            body = await read_limited(Request(scope, receive))
            body_sha256 = hashlib.sha256(body).hexdigest()
            receive = replaying(body, receive)
        verified = verify_request(
            method=method,
            raw_path=_raw_path(scope),
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body_sha256=body_sha256,
            keys=keys,
            now=self._now(),
            max_skew=self._max_skew,
        )
        return Admitted(verified, receive)


def _declared_sha256(scope: Scope, headers: dict[str, str]) -> str:
    """The payload hash a streamed body is signed with; the store checks the body against it."""
    declared = headers.get("x-amz-content-sha256")
    if declared is not None:
        return declared
    if headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
        raise AuthFailure("incomplete", _MISSING_SHA256)
    return UNSIGNED_PAYLOAD  # S3's presigned URLs sign no payload; other forms are refused by the verifier


def _headers(scope: Scope) -> dict[str, str]:
    """Lowercased names; repeated headers joined with commas, values trimmed, as SigV4 canonicalizes them."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = " ".join(raw_value.decode("latin-1").split())
        found[name] = f"{found[name]},{value}" if name in found else value
    return found


def _raw_path(scope: Scope) -> str:
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return str(scope["path"])
    return raw.partition(b"?")[0].decode("latin-1")
