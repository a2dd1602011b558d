"""SigV4 verification of one received request, pure: its bytes, a key lookup and the time in, a
`Verified` (who signed it, and what its body must still prove) or an `AuthFailure` out.

Supported: `Authorization: AWS4-HMAC-SHA256 ...` and presigned URLs (`X-Amz-*` query parameters,
`X-Amz-Expires` up to seven days). The payload line of the canonical request is the body's SHA-256 (the
caller passes it when it holds the whole body, else the declared `x-amz-content-sha256` is signed and
the streamed body is checked afterwards with `Verified.payload_check()`), or, for S3 only,
`UNSIGNED-PAYLOAD` and the aws-chunked `STREAMING-*` forms (`Verified.chunk_verifier()` checks signed
chunks). Presigned URLs sign `UNSIGNED-PAYLOAD` (S3) or, for other services, the body's hash as botocore
does, `UNSIGNED-PAYLOAD` being accepted too. SigV2 and SigV4a are refused (`unsupported`).

The order of the checks: form, clock, key, session token, signature, then the declared body hash.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from app.auth import sigv4_canonical as canonical
from app.auth import sigv4_claims as claims
from app.auth.caller import Caller
from app.auth.chunk_signatures import ChunkSignatureVerifier, StreamingSigning
from app.auth.keys import KeyLookup, KeyRecord
from app.auth.sigv4_claims import Claim
from app.auth.sigv4_errors import MISMATCH_MESSAGE, AuthFailure, Expiry, Reason
from app.auth.sigv4_keys import SigningKeyCache

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DEFAULT_MAX_SKEW = dt.timedelta(minutes=15)
SIGNING_KEYS = SigningKeyCache()


class PayloadMode(enum.StrEnum):
    HASHED = "hashed"  # the body's SHA-256 is signed
    UNSIGNED = "unsigned"  # UNSIGNED-PAYLOAD (S3, presigned URLs)
    STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"  # its trailing checksum is the check


_STREAMING = {mode.value: mode for mode in PayloadMode if mode.value.startswith("STREAMING-")}
_SIGNED_STREAMING = (PayloadMode.STREAMING_SIGNED, PayloadMode.STREAMING_SIGNED_TRAILER)
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Verified:
    """A request whose signature is valid, and what its body must still prove."""

    key: KeyRecord
    region: str
    service: str  # the credential scope's service ("s3", "sagemaker", ...)
    presigned: bool
    payload: PayloadMode
    content_sha256: str  # the payload line that was signed (a hex digest or a sentinel)
    body_sha256_pending: str | None  # the signed hex digest a streamed body must still match
    streaming: StreamingSigning | None  # set for signed aws-chunked bodies

    @property
    def caller(self) -> Caller:
        return self.key.caller

    def payload_check(self) -> PayloadCheck | None:
        """The check of a streamed body against its signed SHA-256, when one is still due."""
        return PayloadCheck(self.body_sha256_pending) if self.body_sha256_pending else None

    def chunk_verifier(self) -> ChunkSignatureVerifier | None:
        """The chunk-signature checker of a signed aws-chunked body (None for every other body)."""
        return ChunkSignatureVerifier(self.streaming) if self.streaming else None


class PayloadCheck:
    """Hashes a streamed body; `finish` raises AuthFailure(PAYLOAD) unless it is the signed one."""

    def __init__(self, expected_sha256: str) -> None:
        self._expected = expected_sha256.lower()
        self._hash = hashlib.sha256()

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def finish(self) -> None:
        """Raise unless the bytes seen hash to the signed SHA-256."""
        if not hmac.compare_digest(self._hash.hexdigest(), self._expected):
            raise _payload_mismatch()


def verify_request(
    *,
    method: str,
    raw_path: str | bytes,
    query_string: bytes,
    headers: Sequence[tuple[bytes, bytes]],
    body_sha256: str | None,
    keys: KeyLookup,
    now: dt.datetime,
    max_skew: dt.timedelta = DEFAULT_MAX_SKEW,
    signing_keys: SigningKeyCache = SIGNING_KEYS,
) -> Verified:
    """Verify a request's SigV4 signature; raises AuthFailure. `raw_path` is the path as received
    (percent-encoded), `body_sha256` the hex SHA-256 of the whole body, or None when it is streamed."""
    header_values = canonical.header_map(headers)
    body_sha256 = body_sha256.lower() if body_sha256 is not None else None
    pairs = canonical.query_pairs(query_string) if query_string else []
    claim = _claim(header_values, pairs)
    _check_time(claim, now, max_skew)
    key = _key(claim, keys, now)
    mode, candidates = _payloads(claim, header_values, pairs, body_sha256)
    signing_key = signing_keys.signing_key(
        access_key_id=key.access_key_id,
        secret=key.secret_access_key,
        date=claim.date,
        region=claim.region,
        service=claim.service,
    )
    payload = _matching_payload(
        claim, method, raw_path, query_string, pairs, header_values, candidates, signing_key
    )
    mode = PayloadMode.UNSIGNED if payload == UNSIGNED_PAYLOAD else mode
    pending = None
    if mode is PayloadMode.HASHED and body_sha256 is None:
        pending = payload
    elif mode is PayloadMode.HASHED and payload.lower() != body_sha256:
        raise _payload_mismatch()
    streaming = StreamingSigning(claim.signature, signing_key, claim.amz_date, claim.scope)
    return Verified(
        key=key,
        region=claim.region,
        service=claim.service,
        presigned=claim.presigned,
        payload=mode,
        content_sha256=payload,
        body_sha256_pending=pending,
        streaming=streaming if mode in _SIGNED_STREAMING else None,
    )


def _claim(headers: canonical.Headers, pairs: list[tuple[bytes, bytes]]) -> Claim:
    authorization = headers.get("authorization")
    params = {
        key.decode("latin-1"): value.decode("latin-1") for key, value in pairs if key.startswith(b"X-Amz-")
    }
    presigned = any(name in params for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"))
    if authorization and presigned:
        message = (
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified"
        )
        raise AuthFailure(Reason.INCOMPLETE, message, presigned=True)
    if authorization:
        if len(authorization) > 1:
            raise AuthFailure(Reason.INCOMPLETE, "The request carries more than one Authorization header.")
        return claims.from_authorization(authorization[0], headers)
    if presigned:
        if len(params) != len([key for key, _ in pairs if key.startswith(b"X-Amz-")]):
            raise AuthFailure(Reason.INCOMPLETE, "An X-Amz-* query parameter is repeated.", presigned=True)
        return claims.from_query(params, headers)
    if any(key in (b"AWSAccessKeyId", b"Signature") for key, _ in pairs):
        raise AuthFailure(
            Reason.UNSUPPORTED,
            f"The authorization mechanism you have provided is not supported (Signature Version 2). "
            f"Please use {canonical.ALGORITHM}.",
            presigned=True,
        )
    raise AuthFailure(Reason.MISSING, "Request is missing Authentication Token")


def _check_time(claim: Claim, now: dt.datetime, max_skew: dt.timedelta) -> None:
    if claim.time - now > max_skew:
        if claim.presigned:
            raise AuthFailure(
                Reason.EXPIRED, "Request is not valid yet", presigned=True, expiry=Expiry.NOT_YET_VALID
            )
        message = f"Signature not yet current: {claim.amz_date} is still later than {_skewed(now, max_skew)}"
        raise AuthFailure(Reason.EXPIRED, message, expiry=Expiry.SKEWED)
    if claim.expires is not None:
        if now > claim.time + dt.timedelta(seconds=claim.expires):
            raise AuthFailure(
                Reason.EXPIRED, "Request has expired", presigned=True, expiry=Expiry.PRESIGN_EXPIRED
            )
    elif now - claim.time > max_skew:
        message = f"Signature expired: {claim.amz_date} is now earlier than {_skewed(now, -max_skew)}"
        raise AuthFailure(Reason.EXPIRED, message, expiry=Expiry.SKEWED)


def _skewed(now: dt.datetime, skew: dt.timedelta) -> str:
    """AWS's words for the edge of the window: `20260102T032005Z (20260102T030505Z + 15 min.)`."""
    edge, at = ((moment).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ") for moment in (now + skew, now))
    sign = "+" if skew >= dt.timedelta(0) else "-"
    return f"{edge} ({at} {sign} {abs(skew).total_seconds() / 60:g} min.)"


def _key(claim: Claim, keys: KeyLookup, now: dt.datetime) -> KeyRecord:
    key = keys.lookup(claim.access_key_id)
    if key is None:
        message = "The AWS Access Key Id you provided does not exist in our records."
        raise AuthFailure(Reason.UNKNOWN_KEY, message, presigned=claim.presigned)
    if key.expires_at is not None and now >= key.expires_at:
        message = "The security token included in the request is expired"
        raise AuthFailure(Reason.EXPIRED_TOKEN, message, presigned=claim.presigned)
    expected = key.session_token.encode() if key.session_token is not None else None
    given = claim.token.encode() if claim.token is not None else None
    if (expected is None) != (given is None) or not hmac.compare_digest(expected or b"", given or b""):
        message = "The security token included in the request is invalid."
        raise AuthFailure(Reason.BAD_TOKEN, message, presigned=claim.presigned)
    return key


def _payloads(
    claim: Claim, headers: canonical.Headers, pairs: list[tuple[bytes, bytes]], body_sha256: str | None
) -> tuple[PayloadMode, list[str]]:
    """The payload mode and the payload lines the signature may cover (one, but two for presigned
    URLs of other services than S3: botocore signs the body's hash there, other signers UNSIGNED)."""
    if claim.presigned:
        declared = next(
            (value.decode("latin-1") for key, value in pairs if key == b"X-Amz-Content-Sha256"), None
        )
        if declared is not None:
            return _mode(declared, claim), [declared]
        if claim.service != "s3" and body_sha256 is not None:
            return PayloadMode.HASHED, [body_sha256, UNSIGNED_PAYLOAD]
        return PayloadMode.UNSIGNED, [UNSIGNED_PAYLOAD]
    values = headers.get("x-amz-content-sha256")
    if values:
        return _mode(values[0], claim), [values[0]]
    if body_sha256 is None:
        message = "Missing required header for this request: x-amz-content-sha256"
        raise AuthFailure(Reason.INCOMPLETE, message)
    return PayloadMode.HASHED, [body_sha256]


def _mode(declared: str, claim: Claim) -> PayloadMode:
    if len(declared) == 64 and set(declared.lower()) <= _HEX:
        return PayloadMode.HASHED
    if declared.startswith("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"):
        message = (
            "The authorization mechanism you have provided is not supported (SigV4a streaming payloads)."
        )
        raise AuthFailure(Reason.UNSUPPORTED, message, presigned=claim.presigned)
    mode = PayloadMode.UNSIGNED if declared == UNSIGNED_PAYLOAD else _STREAMING.get(declared)
    if mode is None:
        message = (
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], "
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value."
        )
        raise AuthFailure(Reason.INCOMPLETE, message, presigned=claim.presigned)
    if claim.service != "s3":
        message = f"x-amz-content-sha256 {declared} is accepted by the S3 API alone: sign the body's SHA-256."
        raise AuthFailure(Reason.INCOMPLETE, message, presigned=claim.presigned)
    return mode


def _matching_payload(
    claim: Claim,
    method: str,
    raw_path: str | bytes,
    query_string: bytes,
    pairs: list[tuple[bytes, bytes]],
    headers: canonical.Headers,
    candidates: list[str],
    signing_key: bytes,
) -> str:
    """The payload line the signature covers; raises AuthFailure(MISMATCH) when none does.

    The canonical form (botocore, the AWS SDKs) is tried first; a failure then tries the forms older
    curl releases sign (the path and the query exactly as sent), so a bad signature costs a few more
    hashes but a good one costs one."""
    missing = [name for name in claim.signed_headers if name not in headers]
    if missing:
        message = f"SignedHeaders names headers the request does not carry: {';'.join(missing)[:200]}"
        raise AuthFailure(Reason.INCOMPLETE, message, presigned=claim.presigned)
    try:
        uris = canonical.uri_forms(raw_path, service=claim.service)
    except UnicodeError:
        raise AuthFailure(Reason.INCOMPLETE, "The request path is not percent-encoded UTF-8.") from None
    queries = canonical.query_forms(query_string, pairs, presigned=claim.presigned)
    for uri, query, payload in itertools.product(uris, queries, candidates):
        to_sign = canonical.string_to_sign(
            method=method.upper(),
            uri=uri,
            query=query,
            headers=headers,
            signed_headers=claim.signed_headers,
            payload=payload,
            amz_date=claim.amz_date,
            scope=claim.scope,
        )
        signature = hmac.new(signing_key, to_sign, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature, claim.signature):
            return payload
    raise AuthFailure(Reason.MISMATCH, MISMATCH_MESSAGE, presigned=claim.presigned)


def _payload_mismatch() -> AuthFailure:
    return AuthFailure(
        Reason.PAYLOAD, "The provided 'x-amz-content-sha256' header does not match what was computed."
    )
