"""Interim SigV4 verification, standing in for `app.auth.sigv4` until it is merged.

Same names and keyword signature as the shared interface (`verify_request`, `AuthFailure`, `Verified`), so
that switching the edge to the real library is an import change. It checks the
header and presigned forms exactly (canonical request, signed `host` and `x-amz-date`, payload hash, skew,
expiry) but not chunk signatures, which only the real library verifies.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from app.auth.caller import Caller
from app.auth.keys import KeyLookup, KeyRecord

ALGORITHM = "AWS4-HMAC-SHA256"
_STAMP = "%Y%m%dT%H%M%SZ"
_MAX_EXPIRES = 7 * 24 * 3600
_SIGV2 = (
    "The authorization mechanism you have provided (Signature Version 2) is not supported. "
    f"Please use {ALGORITHM}."
)


class AuthFailure(Exception):
    """A request that does not authenticate; `reason` picks the protocol's error code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Verified:
    caller: Caller
    key: KeyRecord
    service: str
    presigned: bool
    # What chains the chunk signatures of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body to this request.
    signing_key: bytes
    stamp: str
    scope: str
    signature: str


@dataclass(frozen=True)
class _Parsed:
    access_key_id: str
    scope: list[str]  # date, region, service, aws4_request
    signed_headers: list[str]
    signature: str
    stamp: str
    token: str | None
    expires: int | None


def verify_request(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    body_sha256: str,
    keys: KeyLookup,
    now: dt.datetime,
    max_skew: dt.timedelta,
) -> Verified:
    """The caller of a SigV4-signed request, or AuthFailure."""
    query = parse_qsl(query_string, keep_blank_values=True)
    names = {name for name, _ in query}
    if "AWSAccessKeyId" in names or headers.get("authorization", "").startswith("AWS "):
        raise AuthFailure("unsupported", _SIGV2)
    presigned = "X-Amz-Algorithm" in names
    parsed = _from_query(dict(query)) if presigned else _from_header(headers)
    record = keys.lookup(parsed.access_key_id)
    if record is None:
        raise AuthFailure("unknown_key", "The security token included in the request is invalid.")
    if record.session_token is not None and parsed.token != record.session_token:
        raise AuthFailure("bad_token", "The security token included in the request is invalid.")
    _check_time(parsed, now, max_skew)
    service = parsed.scope[2]
    canonical_query = _canonical_query([(n, v) for n, v in query if n != "X-Amz-Signature"])
    canonical = "\n".join(
        [
            method,
            _canonical_path(raw_path, service),
            canonical_query,
            "".join(f"{name}:{headers.get(name, '')}\n" for name in parsed.signed_headers),
            ";".join(parsed.signed_headers),
            body_sha256,
        ]
    )
    scope = "/".join(parsed.scope)
    to_sign = "\n".join([ALGORITHM, parsed.stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _signing_key(record.secret_access_key, *parsed.scope[:3])
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parsed.signature):
        raise AuthFailure(
            "mismatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return Verified(
        caller=record.caller,
        key=record,
        service=service,
        presigned=presigned,
        signing_key=key,
        stamp=parsed.stamp,
        scope=scope,
        signature=parsed.signature,
    )


_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class ChunkSignatures:
    """The chain of chunk signatures of an aws-chunked body, seeded by the request's own signature."""

    def __init__(self, verified: Verified) -> None:
        self._verified = verified
        self._previous = verified.signature
        self._hash = hashlib.sha256()

    def begin(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, data: memoryview) -> None:
        self._hash.update(data)

    def end(self, signature: str) -> None:
        v = self._verified
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                v.stamp,
                v.scope,
                self._previous,
                _EMPTY_SHA256,
                self._hash.hexdigest(),
            ]
        )
        expected = hmac.new(v.signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise AuthFailure("mismatch", "The chunk signature does not match the chunk's bytes.")
        self._previous = signature


def _from_header(headers: Mapping[str, str]) -> _Parsed:
    value = headers.get("authorization")
    if value is None:
        raise AuthFailure("missing", "Missing Authentication Token")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm == "AWS4-ECDSA-P256-SHA256":
        raise AuthFailure("unsupported", f"Signature Version 4A is not supported; sign with {ALGORITHM}.")
    if algorithm != ALGORITHM:
        raise AuthFailure("unsupported", f"Unsupported signing algorithm {algorithm}; use {ALGORITHM}.")
    params = {n.strip(): v.strip() for n, _, v in (p.partition("=") for p in rest.split(","))}
    if not {"Credential", "SignedHeaders", "Signature"} <= params.keys():
        raise AuthFailure("incomplete", "Authorization header requires Credential, SignedHeaders, Signature.")
    stamp = headers.get("x-amz-date")
    if stamp is None:
        raise AuthFailure("incomplete", "Authorization header requires existence of the X-Amz-Date header.")
    return _parsed(params["Credential"], params["SignedHeaders"], params["Signature"], stamp, None)


def _from_query(params: Mapping[str, str]) -> _Parsed:
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise AuthFailure("unsupported", f"X-Amz-Algorithm only supports {ALGORITHM}.")
    needed = ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires")
    missing = [name for name in needed if name not in params]
    if missing:
        raise AuthFailure("incomplete", f"Query-string authentication requires {', '.join(missing)}.")
    expires = params["X-Amz-Expires"]
    if not expires.isdigit() or not 1 <= int(expires) <= _MAX_EXPIRES:
        raise AuthFailure("incomplete", "X-Amz-Expires must be between 1 and 604800 seconds.")
    parsed = _parsed(
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        params["X-Amz-Date"],
        int(expires),
    )
    token = params.get("X-Amz-Security-Token")
    return _Parsed(**{**parsed.__dict__, "token": token})


def _parsed(credential: str, signed: str, signature: str, stamp: str, expires: int | None) -> _Parsed:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise AuthFailure("incomplete", f"Credential should be scoped to a valid region, not {credential!r}.")
    names = signed.split(";")
    if "host" not in names:
        raise AuthFailure("incomplete", "Signed headers must include host.")
    return _Parsed(parts[0], parts[1:], names, signature, stamp, None, expires)


def _check_time(parsed: _Parsed, now: dt.datetime, max_skew: dt.timedelta) -> None:
    try:
        signed_at = dt.datetime.strptime(parsed.stamp, _STAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        raise AuthFailure("incomplete", f"Invalid X-Amz-Date {parsed.stamp!r}.") from None
    if parsed.stamp[:8] != parsed.scope[0]:
        raise AuthFailure("mismatch", "The credential date does not match X-Amz-Date.")
    if parsed.expires is not None:
        if now > signed_at + dt.timedelta(seconds=parsed.expires) or signed_at > now + max_skew:
            raise AuthFailure("expired", "Request has expired")
        return
    if abs(now - signed_at) > max_skew:
        earliest = (now - max_skew).strftime(_STAMP)
        raise AuthFailure(
            "expired",
            f"Signature expired: {parsed.stamp} is now earlier than {earliest} "
            f"({now.strftime(_STAMP)} - {int(max_skew.total_seconds() // 60)} min.)",
        )


def _canonical_path(raw_path: str, service: str) -> str:
    """S3 signs the path as sent; other services its normalized form, percent-encoded once more."""
    if service == "s3":
        return raw_path or "/"
    segments = [s for s in raw_path.split("/") if s not in ("", ".")]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        else:
            kept.append(segment)
    path = "/" + "/".join(kept) + ("/" if raw_path.endswith("/") and kept else "")
    return quote(path, safe="/~")


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((quote(n, safe="-_.~"), quote(v, safe="-_.~")) for n, v in pairs)
    return "&".join(f"{n}={v}" for n, v in encoded)


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
