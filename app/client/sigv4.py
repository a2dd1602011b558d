"""AWS Signature Version 4 (header form), computed as botocore computes it, with the stdlib only.

`sign` returns the headers to add to a request: `X-Amz-Date`, `X-Amz-Security-Token` (temporary
credentials), `X-Amz-Content-SHA256` (S3 only, which requires it) and `Authorization`. Every header handed
in is signed, except the hop-by-hop ones botocore leaves out; `host` is always signed. The canonical path
is normalized (dot segments and repeated slashes removed) and encoded a second time for every service but
S3, whose path is signed as it is sent.

`presign` returns the URL with the signature in its query instead (`X-Amz-Algorithm`, `X-Amz-Credential`,
`X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders=host`, `X-Amz-Signature`), for a link that any HTTP
client can follow until it expires. As in botocore's presigned URLs, the payload is `UNSIGNED-PAYLOAD` for S3
and the hash of an empty body for every other service.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Headers that proxies may rewrite or drop, so no signature may depend on them (botocore's list).
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# AWS accepts presigned URLs valid for at most seven days.
MAX_EXPIRES_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


def sign(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    credentials: Credentials,
    region: str,
    service: str,
    now: dt.datetime,
) -> dict[str, str]:
    """The headers that sign this request; `url` must be sent exactly as given (already percent-encoded)."""
    stamp = now.astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT)
    added = {"X-Amz-Date": stamp}
    if credentials.token:
        added["X-Amz-Security-Token"] = credentials.token
    if service == "s3":
        added["X-Amz-Content-SHA256"] = payload_sha256
    replaced = {name.lower() for name in added}
    kept = {name: value for name, value in headers.items() if name.lower() not in replaced}
    signed = _headers_to_sign(url, {**kept, **added})
    scope = _Scope(stamp, region, service)
    signature = _signature(method, url, signed, payload_sha256, credentials.secret_key, scope)
    added["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope.text}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return added


def presign(
    *,
    method: str,
    url: str,
    credentials: Credentials,
    region: str,
    service: str,
    now: dt.datetime,
    expires_in: int,
) -> str:
    """`url` (already percent-encoded) with a query-string signature valid for `expires_in` seconds."""
    if not 1 <= expires_in <= MAX_EXPIRES_SECONDS:
        raise ValueError(f"expires_in must be between 1 and {MAX_EXPIRES_SECONDS} seconds (seven days)")
    stamp = now.astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT)
    scope = _Scope(stamp, region, service)
    params = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key}/{scope.text}"),
        ("X-Amz-Date", stamp),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if credentials.token:
        params.append(("X-Amz-Security-Token", credentials.token))
    query = "&".join(f"{name}={quote(value, safe='-_.~')}" for name, value in params)
    unsigned = url + ("&" if urlsplit(url).query else "?") + query
    signed = _headers_to_sign(unsigned, {})
    payload = UNSIGNED_PAYLOAD if service == "s3" else EMPTY_SHA256
    signature = _signature(method, unsigned, signed, payload, credentials.secret_key, scope)
    return f"{unsigned}&X-Amz-Signature={signature}"


@dataclass(frozen=True)
class _Scope:
    stamp: str
    region: str
    service: str

    @property
    def text(self) -> str:
        return f"{self.stamp[:8]}/{self.region}/{self.service}/aws4_request"


def _signature(
    method: str, url: str, signed: Mapping[str, str], payload_sha256: str, secret_key: str, scope: _Scope
) -> str:
    canonical = "\n".join(
        [
            method.upper(),
            canonical_path(url, service=scope.service),
            canonical_query(url),
            "".join(f"{name}:{value}\n" for name, value in signed.items()),
            ";".join(signed),
            payload_sha256,
        ]
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = "\n".join([ALGORITHM, scope.stamp, scope.text, digest])
    key = signing_key(secret_key, scope.stamp[:8], scope.region, scope.service)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_path(url: str, *, service: str) -> str:
    return canonical_uri(urlsplit(url).path, service=service)


def canonical_uri(path: str, *, service: str) -> str:
    """The canonical URI of a path as it is sent (percent-encoded): S3 signs it as it is; every other
    service signs it normalized and encoded once more (the server's verifier shares this function)."""
    if service == "s3":
        return path or "/"
    return quote(_remove_dot_segments(path) if path else "/", safe="/~")


def canonical_query(url: str) -> str:
    """The query's `key=value` pairs (already encoded in the URL), sorted."""
    query = urlsplit(url).query
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{key}={value}" for key, value in pairs)


def host_header(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _headers_to_sign(url: str, headers: Mapping[str, str]) -> dict[str, str]:
    """Lowercased name → trimmed value, sorted by name; repeated names are joined with commas."""
    found: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered not in UNSIGNED_HEADERS:
            found.setdefault(lowered, []).append(" ".join(value.split()))
    found.setdefault("host", [host_header(url)])
    return {name: ",".join(found[name]) for name in sorted(found)}


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, also dropping empty segments, as AWS services expect."""
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment and segment != ".":
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last
