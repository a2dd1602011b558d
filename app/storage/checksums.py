"""SHA-256 of whole objects, recorded in their metadata when they are written, so that downloads can
announce it (`x-checksum-sha256`) without reading the object again.

The digest is bound to the ETag it was computed for: an object rewritten later (or copied with its old
metadata) never announces a stale checksum.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from app.storage.models import Digests, ObjectInfo, ObjectMeta
from app.storage.object_store import ObjectStore

SHA256_META = "sha256"
SHA256_ETAG_META = "sha256-etag"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 8 << 20


def seal(user_metadata: dict[str, str], digests: Digests) -> str:
    """Put the SHA-256 into the metadata dict a writer was opened with; returns it (hex).

    The store serialises an object's metadata only at commit, so a digest known after the last byte
    still goes in atomically with the bytes."""
    sha256 = digests.extra["sha256"].hex()
    user_metadata[SHA256_META] = sha256
    user_metadata[SHA256_ETAG_META] = digests.etag.strip('"')
    return sha256


def put_with_sha256(
    store: ObjectStore, bucket: str, key: str, chunks: Iterable[bytes], meta: ObjectMeta | None = None
) -> ObjectInfo:
    """Write an object and record its SHA-256 in its metadata, in the same pass and the same commit."""
    given = meta or ObjectMeta()
    user = {k: v for k, v in given.user_metadata.items() if k not in (SHA256_META, SHA256_ETAG_META)}
    final = ObjectMeta(content_type=given.content_type, user_metadata=user, headers=given.headers)
    with store.open_writer(bucket, key, final, extra_hashes=["sha256"]) as writer:
        for chunk in chunks:
            writer.write(chunk)
        seal(user, writer.finish())
        return writer.commit()


def put_file_with_sha256(store: ObjectStore, bucket: str, key: str, src: Path) -> ObjectInfo:
    with src.open("rb") as f:
        return put_with_sha256(store, bucket, key, iter(lambda: f.read(_CHUNK), b""))


def stored_sha256(info: ObjectInfo) -> str | None:
    """The object's hex SHA-256 if it was recorded for exactly these bytes (same ETag), else None."""
    meta = info.meta.user_metadata
    sha256 = meta.get(SHA256_META, "")
    if not _HEX64.fullmatch(sha256) or meta.get(SHA256_ETAG_META) != info.etag.strip('"'):
        return None
    return sha256
