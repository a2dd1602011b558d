"""Multipart uploads: parts are blobs of their own until CompleteMultipartUpload joins them.

Each part is sealed under its own data key, so completion reseals: it decrypts the parts in order into one
new blob under a new key, a pass through user space where the kernel used to copy (copy_file_range).
Keeping the parts' sealed bytes with a manifest of extents would avoid that pass, at the price of a second
reading path and a manifest that itself needs authenticating; completion is rare next to reads, and one
blob per object keeps every read, copy and range the same, so it reseals.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from app.storage import errors
from app.storage.blobs import BlobDir, ReadAt
from app.storage.errors import check_bucket, check_key
from app.storage.models import (
    Digests,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    PartsPage,
    UploadInfo,
    ms_to_datetime,
    multipart_etag,
    now_ms,
)
from app.storage.object_index import ObjectIndex, PartRow, UploadRow, dump_meta, load_meta
from app.storage.segments import SealError
from app.storage.writer import Writer

MAX_PART_NUMBER = 10_000
_NO_UPLOAD = "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."  # noqa: E501


class CommitObject(Protocol):
    """`ObjectStore._commit`: point `key` at a published blob; `inside` runs in the same transaction."""

    def __call__(
        self,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        blob_id: str,
        size: int,
        etag: str,
        crc32: int | None,
        inside: Callable[[sqlite3.Connection], None] | None = None,
    ) -> ObjectInfo: ...


class MultipartUploads:
    """CreateMultipartUpload, UploadPart(Copy), ListParts, Complete and Abort over the store's files."""

    def __init__(
        self, catalog: ObjectIndex, blobs: BlobDir, commit: CommitObject, *, min_part_size: int
    ) -> None:
        self._catalog = catalog
        self._blobs = blobs
        self._commit = commit
        self._min_part_size = min_part_size

    def create(self, bucket: str, key: str, meta: ObjectMeta | None = None) -> UploadInfo:
        """Start an upload; the object appears only when it is completed."""
        check_bucket(bucket)
        check_key(key)
        row = UploadRow(uuid.uuid4().hex, bucket, key.encode(), now_ms(), dump_meta(meta or ObjectMeta()))
        with self._catalog.write() as db:
            if self._catalog.bucket_created_ms(db, bucket) is None:
                raise errors.NoSuchBucket("The specified bucket does not exist", BucketName=bucket)
            self._catalog.add_upload(db, row)
        return _upload_info(row)

    def get(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        with self._catalog.connect() as db:
            return _upload_info(self._require_upload(db, bucket, key, upload_id))

    def open_part_writer(
        self, bucket: str, key: str, upload_id: str, part_number: int, *, extra_hashes: Sequence[str] = ()
    ) -> Writer[PartInfo]:
        """A writer for one part; re-uploading a part number replaces the earlier part on commit."""
        _check_part_number(part_number)
        self.get(bucket, key, upload_id)  # refuse early, before a client sends a whole body

        def publish(tmp: Path, digests: Digests) -> PartInfo:
            return self._commit_part(bucket, key, upload_id, part_number, self._blobs.publish(tmp), digests)

        return Writer(self._blobs.new_writer(extra_hashes), publish)

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: bytes) -> PartInfo:
        with self.open_part_writer(bucket, key, upload_id, part_number) as writer:
            writer.write(data)
            return writer.commit()

    def copy_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, source: ReadAt, start: int, end: int
    ) -> PartInfo:
        """UploadPartCopy: bytes `[start, end)` of an open source object (`ObjectReader.read_at`)."""
        with self.open_part_writer(bucket, key, upload_id, part_number) as writer:
            writer.copy_from(source, start, end - start)
            return writer.commit()

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, after: int = 0, max_parts: int = 1000
    ) -> PartsPage:
        with self._catalog.connect() as db:
            upload = _upload_info(self._require_upload(db, bucket, key, upload_id))
            rows = self._catalog.list_parts(db, upload_id, after, max_parts + 1)
        parts = [_part_info(row) for row in rows[:max_parts]]
        next_marker = parts[-1].part_number if parts else after
        return PartsPage(upload, parts, len(rows) > max_parts, next_marker)

    def list_uploads(self, bucket: str, *, prefix: str = "", max_uploads: int = 1000) -> list[UploadInfo]:
        """Unfinished uploads in a bucket, by key then initiation time."""
        check_bucket(bucket)
        with self._catalog.connect() as db:
            if self._catalog.bucket_created_ms(db, bucket) is None:
                raise errors.NoSuchBucket("The specified bucket does not exist", BucketName=bucket)
            return [
                _upload_info(r) for r in self._catalog.list_uploads(db, bucket, prefix.encode(), max_uploads)
            ]

    def complete(self, bucket: str, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> ObjectInfo:
        """Join the listed (part number, ETag) parts into the object, with S3's multipart ETag."""
        with self._catalog.connect() as db:
            upload = self._require_upload(db, bucket, key, upload_id)
            chosen = self._chosen_parts(db, upload_id, parts)
        try:
            blob_id = self._blobs.reseal([(part.blob, part.size) for part in chosen])
        except FileNotFoundError as exc:  # aborted, or a part re-uploaded, while we were copying
            raise errors.InvalidPart("A part changed while the upload was being completed.") from exc
        except SealError as exc:
            raise errors.corrupt(bucket, key, f"upload {upload_id}: {exc}") from None
        part_blobs: list[str] = []

        def claim_upload(db: sqlite3.Connection) -> None:  # fails if a concurrent abort/complete won
            part_blobs.extend(self._require_deleted(db, upload_id))

        size = sum(part.size for part in chosen)
        etag = multipart_etag([part.md5 for part in chosen])
        info = self._commit(bucket, key, load_meta(upload.meta), blob_id, size, etag, None, claim_upload)
        self._blobs.unlink(part_blobs)
        return info

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        with self._catalog.write() as db:
            self._require_upload(db, bucket, key, upload_id)
            part_blobs = self._catalog.delete_upload(db, upload_id) or []
        self._blobs.unlink(part_blobs)

    def expire(self, *, initiated_before_ms: int, batch: int = 100) -> int:
        """Abort every upload initiated before the cutoff (the lifecycle rule's sweep); returns how many."""
        expired = 0
        while True:
            with self._catalog.write() as db:
                upload_ids = self._catalog.uploads_initiated_before(db, initiated_before_ms, batch)
                part_blobs = [b for i in upload_ids for b in self._catalog.delete_upload(db, i) or []]
            self._blobs.unlink(part_blobs)
            expired += len(upload_ids)
            if len(upload_ids) < batch:
                return expired

    def _commit_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, blob_id: str, digests: Digests
    ) -> PartInfo:
        row = PartRow(part_number, blob_id, digests.size, digests.md5, digests.crc32, now_ms())
        try:
            with self._catalog.write() as db:
                self._require_upload(db, bucket, key, upload_id)
                replaced = self._catalog.put_part(db, upload_id, row)
        except BaseException:
            self._blobs.unlink([blob_id])
            raise
        self._blobs.unlink([replaced] if replaced else [])
        return _part_info(row)

    def _chosen_parts(
        self, db: sqlite3.Connection, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> list[PartRow]:
        numbers = [number for number, _ in parts]
        if not parts:
            raise errors.InvalidPart("You must specify at least one part.")
        if numbers != sorted(set(numbers)):
            raise errors.InvalidPartOrder("The list of parts was not in ascending order.", UploadId=upload_id)
        stored = self._catalog.get_parts(db, upload_id, numbers)
        chosen: list[PartRow] = []
        for number, etag in parts:
            row = stored.get(number)
            if row is None or etag.strip('"') != row.md5.hex():
                raise errors.InvalidPart(_INVALID_PART, UploadId=upload_id, PartNumber=str(number))
            chosen.append(row)
        for row in chosen[:-1]:
            if row.size < self._min_part_size:
                raise errors.EntityTooSmall(_TOO_SMALL, PartNumber=str(row.part_number))
        return chosen

    def _require_deleted(self, db: sqlite3.Connection, upload_id: str) -> list[str]:
        part_blobs = self._catalog.delete_upload(db, upload_id)
        if part_blobs is None:
            raise errors.NoSuchUpload(_NO_UPLOAD, UploadId=upload_id)
        return part_blobs

    def _require_upload(self, db: sqlite3.Connection, bucket: str, key: str, upload_id: str) -> UploadRow:
        row = self._catalog.get_upload(db, upload_id)
        if row is None or row.bucket != bucket or row.key != key.encode():
            if self._catalog.bucket_created_ms(db, bucket) is None:
                raise errors.NoSuchBucket("The specified bucket does not exist", BucketName=bucket)
            raise errors.NoSuchUpload(_NO_UPLOAD, UploadId=upload_id)
        return row


_INVALID_PART = (
    "One or more of the specified parts could not be found. The part may not have been uploaded, "
    "or the specified entity tag may not match the part's entity tag."
)
_TOO_SMALL = "Your proposed upload is smaller than the minimum allowed object size."


def _check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise errors.InvalidArgument(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
        )


def _upload_info(row: UploadRow) -> UploadInfo:
    return UploadInfo(
        row.upload_id, row.bucket, row.key.decode(), ms_to_datetime(row.initiated_ms), load_meta(row.meta)
    )


def _part_info(row: PartRow) -> PartInfo:
    return PartInfo(
        row.part_number, row.size, f'"{row.md5.hex()}"', ms_to_datetime(row.modified_ms), row.crc32
    )
