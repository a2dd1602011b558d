"""The edge: every request but the open ones is authenticated here, before any handler sees it.

For each request: verify its SigV4 signature against the key lookup (`Services.identities`), take a token
from its key's bucket (throttling), put the caller in `scope["state"]`, run the surface's app, and record
the call in the audit log if it changes anything. Refusals are answered in the surface's protocol and
counted in the audit log (aggregated per key or address and minute, never one write each).

Bodies are handled two ways. Small ones (the AWS JSON protocol, REST JSON) are read here under the
size limit, hashed into the signature's check, and replayed to the app. Object uploads (S3, REST `PUT
/v1/objects/...`) stream: the signature covers the hash the client declared (`x-amz-content-sha256`, or
the aws-chunked chunk signatures), and the code that stores the body checks it against that declaration
before anything is committed (`app.api.s3.body`), so a tampered upload stores nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.body import read_limited
from app.api.edge import audit_trail, refusals, surfaces
from app.api.edge.replay import replaying
from app.api.edge.surfaces import Surface
from app.auth.sigv4 import Verified, verify_request
from app.auth.sigv4_errors import AuthFailure, Reason
from app.auth.throttle import Throttle
from app.clock import utcnow
from app.errors import ServiceError
from app.services import Services

# The clock skew AWS allows between a signature's X-Amz-Date and its arrival.
MAX_SKEW = dt.timedelta(minutes=15)
_PRESIGN_REFUSED = "Presigned URLs are accepted only for downloads and the S3 API."


@dataclass(frozen=True)
class _Admitted:
    verified: Verified
    receive: Receive


class Edge:
    """Authenticates, throttles and audits requests; the wall clock, never a test's fake one, judges skew."""

    def __init__(self, *, now: Callable[[], dt.datetime] = utcnow, max_skew: dt.timedelta = MAX_SKEW) -> None:
        self._now = now
        self._max_skew = max_skew
        self._throttle: Throttle | None = None

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        surface: Surface,
        services: Services,
        app: ASGIApp,
    ) -> None:
        """Serve the request with `app` if it authenticates and its key has a token; answer it otherwise."""
        call = audit_trail.describe(scope, surface)
        try:
            admitted = await self._verify(scope, receive, surface, services)
        except AuthFailure as error:
            response = refusals.refusal(surface, scope, error)
            audit_trail.refused(services.audit, call, response, key_id=audit_trail.claimed_key(scope))
            await response(scope, receive, send)
            return
        except ServiceError as error:  # a body too large or malformed to read
            await refusals.failure(surface, scope, error)(scope, receive, send)
            return
        caller = admitted.verified.caller
        decision = self._throttling(services).try_acquire(caller.access_key_id, now=time.monotonic())
        if not decision.allowed:
            response = refusals.throttled(surface, scope, decision)
            audit_trail.refused(services.audit, call, response, key_id=caller.access_key_id, caller=caller)
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["caller"] = caller
        state["signature"] = admitted.verified
        if not call.mutating:
            await app(scope, admitted.receive, send)
            return
        outcome = audit_trail.Outcome()

        async def watched(message: Message) -> None:
            outcome.see(message)
            await send(message)

        try:
            await app(scope, admitted.receive, watched)
        finally:
            await anyio.to_thread.run_sync(audit_trail.record, services.audit, call, caller, outcome)

    def _throttling(self, services: Services) -> Throttle:
        if self._throttle is None:
            settings = services.settings
            self._throttle = Throttle(
                rate_per_second=settings.throttle_rate_per_second, burst=settings.throttle_burst
            )
        return self._throttle

    async def _verify(
        self, scope: Scope, receive: Receive, surface: Surface, services: Services
    ) -> _Admitted:
        method, path = scope["method"], scope["path"]
        if surfaces.is_presigned(scope) and not surfaces.presign_allowed(surface, method, path):
            raise AuthFailure(Reason.UNSUPPORTED, _PRESIGN_REFUSED, presigned=True)
        body_sha256 = None  # a streamed body: the signature covers its declared hash, the store checks it
        if not surfaces.streams_body(surface, method, path):
            body = await read_limited(Request(scope, receive))
            body_sha256 = hashlib.sha256(body).hexdigest()
            receive = replaying(body, receive)
        verified = verify_request(
            method=method,
            raw_path=_raw_path(scope),
            query_string=scope.get("query_string", b""),
            headers=scope["headers"],
            body_sha256=body_sha256,
            keys=services.identities,
            now=self._now(),
            max_skew=self._max_skew,
        )
        return _Admitted(verified, receive)


def _raw_path(scope: Scope) -> bytes | str:
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return str(scope["path"])
    return raw.partition(b"?")[0]
