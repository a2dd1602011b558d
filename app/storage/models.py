"""Value types of the object store: what callers pass in and get back (frozen, no behaviour)."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_CONTENT_TYPE = "binary/octet-stream"

# Standard headers S3 stores with an object and returns on GET/HEAD (besides Content-Type).
STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")


@dataclass(frozen=True)
class ObjectMeta:
    """What a writer chooses about an object besides its bytes."""

    content_type: str = DEFAULT_CONTENT_TYPE
    user_metadata: Mapping[str, str] = field(default_factory=dict)
    # Only the names in STORED_HEADERS, with their canonical capitalisation.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created: datetime


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # quoted, exactly as S3 returns it
    last_modified: datetime
    meta: ObjectMeta
    crc32: int | None = None  # known for single-PUT objects; None after multipart or copy of one

    @property
    def crc32_b64(self) -> str | None:
        """The CRC32 as S3's `x-amz-checksum-crc32` header spells it (base64 of 4 big-endian bytes)."""
        return None if self.crc32 is None else crc32_to_b64(self.crc32)


@dataclass(frozen=True)
class Digests:
    """Digests computed while the bytes were written, in the same pass."""

    size: int
    md5: bytes
    crc32: int
    extra: Mapping[str, bytes] = field(default_factory=dict)  # hashlib name -> digest, when asked for

    @property
    def etag(self) -> str:
        return f'"{self.md5.hex()}"'


@dataclass(frozen=True)
class ListPage:
    """One page of ListObjects: objects and common prefixes, both in key order."""

    objects: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    last: str | None  # the last key or common prefix returned: the cursor of the next page


@dataclass(frozen=True)
class UploadInfo:
    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    meta: ObjectMeta


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    size: int
    etag: str
    last_modified: datetime
    crc32: int

    @property
    def crc32_b64(self) -> str:
        return crc32_to_b64(self.crc32)


@dataclass(frozen=True)
class PartsPage:
    upload: UploadInfo
    parts: list[PartInfo]
    is_truncated: bool
    next_marker: int


def crc32_to_b64(value: int) -> str:
    return base64.b64encode(value.to_bytes(4, "big")).decode("ascii")


def multipart_etag(part_md5s: list[bytes]) -> str:
    """S3's multipart ETag: MD5 of the concatenated binary part MD5s, then `-<number of parts>`."""
    return f'"{hashlib.md5(b"".join(part_md5s)).hexdigest()}-{len(part_md5s)}"'


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class StoreTotals:
    """What the store holds: its objects and their bytes."""

    objects: int
    bytes: int
