"""SigV4 headers for hand-made requests (raw sockets, fuzzers), signed as the loopback root key."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.client import sigv4

ROOT = sigv4.Credentials("test", "test")
REGION = "us-east-1"


def signed_headers(
    *,
    method: str,
    url: str,
    body: bytes = b"",
    service: str = "sagemaker",
    headers: dict[str, str] | None = None,
    credentials: sigv4.Credentials = ROOT,
) -> dict[str, str]:
    """`headers` plus Host and the signature for this request; `url` must be sent exactly as given."""
    # The payload's hash is a signed header on every surface (streaming REST routes require it).
    payload_sha256 = hashlib.sha256(body).hexdigest()
    given = {"Host": sigv4.host_header(url), "X-Amz-Content-SHA256": payload_sha256, **(headers or {})}
    added = sigv4.sign(
        method=method,
        url=url,
        headers=given,
        payload_sha256=payload_sha256,
        credentials=credentials,
        region=REGION,
        service=service,
        now=dt.datetime.now(dt.UTC),
    )
    return {**given, **added}


def signing_app(
    app: ASGIApp,
    *,
    base_url: str = "http://testserver",
    credentials: Callable[[], sigv4.Credentials] = lambda: ROOT,
) -> ASGIApp:
    """`app` behind a client that signs every HTTP request it passes on (fuzzers build requests we cannot
    sign before they are serialized): the body is read whole, signed, and replayed to `app`, with the
    credentials `credentials()` gives at that moment."""

    async def signed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = base_url + raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        kept = [(k, v) for k, v in scope["headers"] if k not in (b"host", b"authorization", b"x-amz-date")]
        added = signed_headers(method=scope["method"], url=url, body=body, credentials=credentials())
        headers = kept + [(k.lower().encode(), v.encode()) for k, v in added.items()]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app({**scope, "headers": headers}, replay, send)

    return signed
