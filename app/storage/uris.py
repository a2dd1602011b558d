"""`s3://bucket/key` URIs, bucket-name rules and object-key rules (pure: imports nothing from `app`).

Every layer that names an object (the SageMaker API's `S3Uri` fields, the runtime's artifact upload,
the S3-compatible API) goes through this module, so one set of rules decides what is a valid name.
Keys follow S3's rules (any UTF-8 up to 1024 bytes) with a few refusals of our own that keep keys
safe to materialise as local paths later (`aws s3 sync`, channel downloads): no NUL, no leading `/`,
no `.` or `..` segments.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MAX_KEY_BYTES = 1024

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_SCHEME = "s3://"

# The same rules as one regex each, for documents (OpenAPI) that describe names rather than check them.
BUCKET_NAME_PATTERN = (
    "^(?!" + "|".join(p.replace(".", r"\.") for p in _RESERVED_PREFIXES) + ")"
    "(?!.*(?:" + "|".join(s.replace(".", r"\.") for s in _RESERVED_SUFFIXES) + ")$)"
    r"(?!.*(?:\.\.|\.-|-\.))(?!\d{1,3}(?:\.\d{1,3}){3}$)"
    "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
)
KEY_PATTERN = r"^(?![/\\])(?!(?:.*[/\\])?\.\.?(?:[/\\]|$))[^\x00]+$"


class UriError(ValueError):
    """A bucket name, key or URI that S3 (or this service) refuses; `code` is the S3 error code."""

    code = "InvalidArgument"


class InvalidS3Uri(UriError):
    code = "InvalidURI"


class InvalidBucketName(UriError):
    code = "InvalidBucketName"


class InvalidKey(UriError):
    code = "InvalidArgument"


class KeyTooLong(InvalidKey):
    code = "KeyTooLongError"


@dataclass(frozen=True)
class S3Uri:
    """A bucket and a key (possibly empty, or a prefix ending in `/`)."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"{_SCHEME}{self.bucket}/{self.key}"

    def join(self, *parts: str) -> S3Uri:
        """Append path segments with exactly one `/` between them: `s3://b/out` + `job` → `s3://b/out/job`."""
        segments = [self.key.rstrip("/")] if self.key.strip("/") else []
        segments += [part.strip("/") for part in parts if part.strip("/")]
        key = "/".join(segments)
        if parts and parts[-1].endswith("/") and key:
            key += "/"
        return S3Uri(self.bucket, check_key(key, allow_empty=True))


def parse_s3_uri(uri: str) -> S3Uri:
    """Split `s3://bucket/key` and validate both halves; the key may be empty (`s3://bucket/`)."""
    if not uri.startswith(_SCHEME):
        raise InvalidS3Uri(f"Not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len(_SCHEME) :].partition("/")
    return S3Uri(check_bucket_name(bucket), check_key(key, allow_empty=True))


def join(base: str | S3Uri, *parts: str) -> S3Uri:
    """`join("s3://b/out/", "job", "output", "model.tar.gz")` → `s3://b/out/job/output/model.tar.gz`."""
    uri = base if isinstance(base, S3Uri) else parse_s3_uri(base)
    return uri.join(*parts)


def check_bucket_name(name: str) -> str:
    """Return `name` if it follows S3's general-purpose bucket naming rules, else raise."""
    problem = _bucket_name_problem(name)
    if problem:
        raise InvalidBucketName(f"The specified bucket is not valid: {name!r} ({problem}).")
    return name


def is_valid_bucket_name(name: str) -> bool:
    return _bucket_name_problem(name) is None


def _bucket_name_problem(name: str) -> str | None:
    if not _BUCKET_RE.fullmatch(name):
        return "3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "no adjacent periods, and no period next to a hyphen"
    if _looks_like_ip(name):
        return "must not be formatted as an IP address"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "reserved prefix or suffix"
    return None


def _looks_like_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def check_key(key: str, *, allow_empty: bool = False) -> str:
    """Return `key` if it is a safe object key (see the module docstring), else raise."""
    if not key and not allow_empty:
        raise InvalidKey("Object keys must not be empty.")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise KeyTooLong(f"Your key is too long: at most {MAX_KEY_BYTES} bytes of UTF-8.")
    if "\x00" in key:
        raise InvalidKey("Object keys must not contain NUL characters.")
    if _has_surrogates(key):
        raise InvalidKey("Object keys must be valid UTF-8.")
    if key.startswith(("/", "\\")):
        raise InvalidKey(f"Object keys must be relative, not absolute: {key!r}.")
    if any(segment in (".", "..") for segment in re.split(r"[/\\]", key)):
        raise InvalidKey(f"Object keys must not contain '.' or '..' path segments: {key!r}.")
    return key


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
