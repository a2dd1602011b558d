"""Connection hygiene for the HTTP server: read deadlines, a connection cap, and the file limit they need.

uvicorn has a keep-alive timeout and `limit_concurrency`, but no deadline for reading a request: a client
that opens a socket and sends nothing, or half a header, or half a body, holds a connection (and a file
descriptor) forever, and enough of them exhaust the process's file limit so that every new request fails.
Rather than swap the ASGI server (TLS, lifespan and the one-process scheduler are set up around uvicorn),
`guarded_protocol` subclasses uvicorn's httptools protocol with what it lacks:

- a header deadline: the request line and headers must arrive within `header_timeout` of the connection
  (or of the first byte of a later request on a kept-alive connection), or the connection is closed;
- a body deadline: while a request body is being read, `body_timeout` without a byte closes the connection
  (the app then sees a disconnect); time when the server itself stopped reading (a slow consumer) does
  not count;
- a connection cap: past `max_connections` open connections, a new one is answered `503` with
  `Retry-After` at once and closed, so the descriptors stay within the limit and idle sockets cost
  nothing beyond the cap.

Responses are never timed: a long-lived stream (`GET .../logs?follow=true`) has read its request before it
starts, so it is exempt from both deadlines, and it counts against the cap while it is open.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger(__name__)

# Descriptors kept for what is not a client connection: the database, blobs, logs, jobs' pipes.
RESERVED_DESCRIPTORS = 256
# How long an over-cap connection stays open after its 503, so the client reads it rather than a reset.
_OVER_CAP_LINGER_SECONDS = 1.0


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int


def over_cap_response() -> bytes:
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": "ServiceUnavailable",
            "status": 503,
            "detail": "Too many open connections; retry shortly.",
            "code": "ServiceUnavailable",
        }
    )
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/problem+json\r\n"
        "retry-after: 1\r\n"
        "connection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def raise_file_limit(*, wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards `wanted` (at most the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def fitted(limits: ConnectionLimits) -> ConnectionLimits:
    """`limits` with the cap lowered, if need be, to what the file limit allows once it is raised."""
    available = raise_file_limit(wanted=limits.max_connections + RESERVED_DESCRIPTORS) - RESERVED_DESCRIPTORS
    if available >= limits.max_connections:
        return limits
    logger.warning(
        "connection cap lowered to fit the file limit",
        extra={"wanted": limits.max_connections, "cap": max(available, 1)},
    )
    return ConnectionLimits(limits.header_timeout, limits.body_timeout, max(available, 1))


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with read deadlines and a connection cap (see the module's doc)."""

    class GuardedProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _reading_body = False
        _over_cap = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                self._over_cap = True
                transport.write(over_cap_response())
                self._arm(_OVER_CAP_LINGER_SECONDS)
                return
            self._arm(limits.header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._over_cap:
                return  # already answered; the request is not read
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # a later request on a kept-alive connection
                self._arm(limits.header_timeout)

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._reading_body = True
            self._arm(limits.body_timeout)

        def on_body(self, body: bytes) -> None:
            super().on_body(body)
            self._arm(limits.body_timeout)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._reading_body = False
            self._disarm()

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self._reading_body and self.flow.read_paused:
                self._arm(limits.body_timeout)  # the server stopped reading, not the client
                return
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedProtocol


def uvicorn_options(limits: ConnectionLimits, *, keep_alive_timeout: int) -> dict[str, Any]:
    """The keyword arguments `uvicorn.run` takes for these limits."""
    return {
        "http": guarded_protocol(fitted(limits)),
        "timeout_keep_alive": keep_alive_timeout,
    }
