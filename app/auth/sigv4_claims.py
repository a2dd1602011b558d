"""What a request claims about its signature: read from the `Authorization` header or the presigned
`X-Amz-*` query parameters, checked for form only (no key, no clock, no cryptography here)."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass

from app.auth.sigv4_canonical import ALGORITHM, Headers
from app.auth.sigv4_errors import AuthFailure, Reason

MAX_PRESIGN_EXPIRES = 604800  # seven days, S3's limit for X-Amz-Expires
SIGV4A = "AWS4-ECDSA-P256-SHA256"
_HEX = frozenset("0123456789abcdef")
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


@dataclass(frozen=True, slots=True)
class Claim:
    """The signature a request carries and the scope it names."""

    access_key_id: str
    date: str  # the scope's YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str  # 64 lowercase hex digits
    amz_date: str  # the timestamp of the string to sign, YYYYMMDDTHHMMSSZ
    time: dt.datetime
    token: str | None  # X-Amz-Security-Token
    presigned: bool
    expires: int | None = None  # X-Amz-Expires of a presigned URL

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def from_authorization(value: str, headers: Headers) -> Claim:
    """The claim of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise _unsupported(scheme)
    fields = dict(_field(part) for part in rest.split(","))
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        text = " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        raise AuthFailure(Reason.INCOMPLETE, f"{text} Authorization={value[:200]}")
    signed = _signed_headers(fields["SignedHeaders"], presigned=False)
    amz_date, time = _header_time(headers, signed)
    key, date, region, service = _credential(fields["Credential"], amz_date, presigned=False)
    token = headers.get("x-amz-security-token")
    return Claim(
        access_key_id=key,
        date=date,
        region=region,
        service=service,
        signed_headers=signed,
        signature=_signature(fields["Signature"]),
        amz_date=amz_date,
        time=time,
        token=token[0] if token else None,
        presigned=False,
    )


def from_query(params: Mapping[str, str], headers: Headers) -> Claim:
    """The claim of a presigned URL's `X-Amz-*` query parameters."""
    algorithm = params.get("X-Amz-Algorithm", "")
    if algorithm and algorithm != ALGORITHM:
        raise _unsupported(algorithm, presigned=True)
    if any(not params.get(name) for name in _PRESIGN_PARAMS):
        message = (
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
        raise AuthFailure(Reason.INCOMPLETE, message, presigned=True)
    amz_date = params["X-Amz-Date"]
    time = parse_amz_date(amz_date)
    if time is None:
        raise AuthFailure(
            Reason.INCOMPLETE, f"X-Amz-Date must be in the ISO8601 Long Format: {amz_date!r}", presigned=True
        )
    key, date, region, service = _credential(params["X-Amz-Credential"], amz_date, presigned=True)
    token = params.get("X-Amz-Security-Token") or next(iter(headers.get("x-amz-security-token", [])), None)
    return Claim(
        access_key_id=key,
        date=date,
        region=region,
        service=service,
        signed_headers=_signed_headers(params["X-Amz-SignedHeaders"], presigned=True),
        signature=_signature(params["X-Amz-Signature"]),
        amz_date=amz_date,
        time=time,
        token=token,
        presigned=True,
        expires=_expires(params["X-Amz-Expires"]),
    )


def parse_amz_date(value: str) -> dt.datetime | None:
    """`YYYYMMDDTHHMMSSZ` as an aware UTC datetime, or None (hand-parsed: strptime costs ~8 µs)."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    digits = value[:8] + value[9:15]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return dt.datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]),
            int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=dt.UTC,
        )  # fmt: skip
    except ValueError:
        return None


def _field(part: str) -> tuple[str, str]:
    name, _, value = part.strip().partition("=")
    return name.strip(), value.strip()


def _unsupported(algorithm: str, *, presigned: bool = False) -> AuthFailure:
    kind = {"AWS": "Signature Version 2", SIGV4A: "Signature Version 4a (SigV4a)"}.get(algorithm)
    named = kind or f"the signing algorithm {algorithm[:40]!r}"
    message = (
        f"The authorization mechanism you have provided is not supported ({named}). Please use {ALGORITHM}."
    )
    return AuthFailure(Reason.UNSUPPORTED, message, presigned=presigned)


def _signed_headers(value: str, *, presigned: bool) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not all(names):
        raise AuthFailure(
            Reason.INCOMPLETE, f"SignedHeaders is malformed: {value[:200]!r}", presigned=presigned
        )
    if "host" not in names:
        raise AuthFailure(
            Reason.INCOMPLETE, "The host header must be signed (SignedHeaders).", presigned=presigned
        )
    return names


def _header_time(headers: Headers, signed: tuple[str, ...]) -> tuple[str, dt.datetime]:
    """The request time of header authentication: X-Amz-Date, else Date; either must be signed."""
    if "x-amz-date" in headers:
        value, name = headers["x-amz-date"][0], "x-amz-date"
        time = parse_amz_date(value)
    elif "date" in headers:
        value, name = headers["date"][0], "date"
        time = _http_date(value)
    else:
        message = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        raise AuthFailure(Reason.INCOMPLETE, message)
    if time is None:
        raise AuthFailure(Reason.INCOMPLETE, f"The {name} header is not a valid date: {value[:40]!r}")
    if name not in signed:
        raise AuthFailure(Reason.INCOMPLETE, f"The {name} header must be signed (SignedHeaders).")
    return time.strftime("%Y%m%dT%H%M%SZ") if name == "date" else value, time


def _http_date(value: str) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _credential(value: str, amz_date: str, *, presigned: bool) -> tuple[str, str, str, str]:
    parts = value.split("/")
    if len(parts) != 5 or not all(parts) or parts[4] != "aws4_request":
        form = "<key>/<YYYYMMDD>/<region>/<service>/aws4_request"
        message = f"Credential should be of the form {form}: {value[:200]!r}"
        raise AuthFailure(Reason.INCOMPLETE, message, presigned=presigned)
    key, date, region, service, _ = parts
    if date != amz_date[:8]:
        message = (
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date[:8]}' != '{amz_date[:8]}', from '{amz_date}'."
        )
        raise AuthFailure(Reason.INCOMPLETE, message, presigned=presigned)
    return key, date, region, service


def _signature(value: str) -> str:
    # A signature that is not 64 hex digits cannot match; it is answered as a mismatch, like a wrong one.
    lowered = value.lower()
    return lowered if len(lowered) == 64 and set(lowered) <= _HEX else ""


def _expires(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise AuthFailure(Reason.INCOMPLETE, "X-Amz-Expires should be a number", presigned=True)
    seconds = int(value)
    if seconds > MAX_PRESIGN_EXPIRES:
        message = f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_PRESIGN_EXPIRES}"
        raise AuthFailure(Reason.INCOMPLETE, message, presigned=True)
    return seconds
