"""Sealing, once and in place, the blobs of a store written before encryption at rest.

Runs when the store opens an index older than `object_index.SEALED_VERSION`, before it serves anything.
Each blob is sealed aside in the store's temp directory and renamed over the plaintext one (atomic), so a
crash midway leaves every blob either plaintext or sealed, and the next start finishes the job: a blob
that already opens as sealed is skipped. The version is recorded only after the last blob.
"""

from __future__ import annotations

import logging
import os
import uuid

from app.crypto.keyring import Keyring
from app.storage.blobs import BlobDir, fsync_dir
from app.storage.object_index import SEALED_VERSION, ObjectIndex
from app.storage.sealed import SegmentWriter
from app.storage.segments import SealError

logger = logging.getLogger(__name__)

_CHUNK = 8 << 20


def seal_plaintext_blobs(*, blobs: BlobDir, catalog: ObjectIndex, keyring: Keyring) -> None:
    """Seal every blob the index points to that is not sealed yet, then record `SEALED_VERSION`."""
    if catalog.version() >= SEALED_VERSION:
        return
    with catalog.connect() as db:
        referenced = catalog.all_blobs(db)
    sealed = sum(_seal_one(blobs, keyring, blob_id, size) for blob_id, size in referenced)
    catalog.set_version(SEALED_VERSION)
    logger.info("sealed plaintext blobs", extra={"blobs": sealed})


def _seal_one(blobs: BlobDir, keyring: Keyring, blob_id: str, size: int) -> bool:
    try:
        blobs.open(blob_id, size).close()
        return False  # sealed already (a previous, interrupted upgrade got this far)
    except FileNotFoundError:
        return False
    except SealError:
        pass
    path = blobs.path(blob_id)
    tmp = blobs.tmp_dir / uuid.uuid4().hex
    src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        sealer = SegmentWriter(out, keyring)
        while data := os.pread(src, _CHUNK, sealer.plain_bytes):
            sealer.write(data)
        sealer.finish()
        os.fsync(out)
        os.replace(tmp, path)
    finally:
        os.close(src)
        os.close(out)
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True
