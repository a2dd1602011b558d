"""SigV4 headers for hand-made requests (raw sockets, fuzzers), signed as the loopback root key."""

from __future__ import annotations

import datetime as dt
import hashlib

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
) -> dict[str, str]:
    """`headers` plus Host and the signature for this request; `url` must be sent exactly as given."""
    given = {"Host": sigv4.host_header(url), **(headers or {})}
    added = sigv4.sign(
        method=method,
        url=url,
        headers=given,
        payload_sha256=hashlib.sha256(body).hexdigest(),
        credentials=ROOT,
        region=REGION,
        service=service,
        now=dt.datetime.now(dt.UTC),
    )
    return {**given, **added}
