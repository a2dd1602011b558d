"""`ObjectStore`: S3-shaped buckets and objects on a local disk, safe to share between threads.

Layout under `root`:

    catalog.sqlite3     the index: bucket, key -> blob id, size, ETag, metadata (see `catalog`)
    blobs/ab/ab12...    object and part bytes, one immutable file per version, random names (see `blobs`),
                        each encrypted under a data key of its own (see `segments`)
    tmp/<instance>/     files being written; swept at start-up when their writer's process is gone

Keys never become file paths: they live only in the index, so no key (`../x`, `/etc/passwd`, 1000
nested directories, names that differ only by case) can touch the filesystem layout. Blob names are
random rather than content hashes because every write then owns a fresh file: two concurrent writers to
one key never write the same path, the commit is "rename, then swap the index row in a transaction",
and the replaced blob is unlinked afterwards (open readers keep their inode). Last committer wins.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from types import TracebackType

from app.crypto.keyring import Keyring
from app.storage import errors, legacy
from app.storage.blobs import BlobDir, is_older_than
from app.storage.errors import check_bucket, check_key
from app.storage.listing import ListQuery, list_page
from app.storage.models import (
    BucketInfo,
    Digests,
    ListPage,
    ObjectInfo,
    ObjectMeta,
    StoreTotals,
    ms_to_datetime,
    now_ms,
)
from app.storage.multipart import MultipartUploads
from app.storage.object_index import ObjectIndex, ObjectRow, dump_meta, load_meta
from app.storage.sealed import SegmentReader
from app.storage.segments import SEGMENT_BYTES, SealError
from app.storage.writer import Writer

_READ_CHUNK = 1 << 20
# The account that owns the buckets of a store made before buckets had owners (see `ObjectIndex`): the
# default account's id (`Settings.account_id`), which every request acted as then.
LEGACY_OWNER = "123456789012"
_DROP_BEHIND_MIN = 64 << 20
_DROP_BEHIND_WINDOW = 16 << 20
_OPEN_RETRIES = 100  # each retry means a concurrent writer replaced the key between lookup and open
_ORPHAN_GRACE_S = 3600.0
_SEGMENT_SLACK = SEGMENT_BYTES + 16  # past the file offset of the last segment: the whole segment


class ObjectReader:
    """An open object: its metadata and its plaintext, decrypted segment by segment as it is read."""

    def __init__(self, info: ObjectInfo, blob: SegmentReader) -> None:
        self.info = info
        self._blob = blob
        # Page cache evicted from this reader's first file offset up to here (see `_drop_behind`).
        self._dropped: int | None = None

    def read_at(self, offset: int, size: int) -> bytes:
        """Plaintext `[offset, offset + size)`; CorruptObject, never bytes, if it does not authenticate."""
        try:
            data = self._blob.read_at(offset, size)
        except SealError as exc:
            raise errors.corrupt(self.info.bucket, self.info.key, str(exc)) from None
        self._drop_behind(self._blob.file_offset(offset))
        return data

    def advise_sequential(self, start: int, end: int) -> None:
        """Tell the kernel `[start, end)` will be read front to back (it doubles the readahead)."""
        if hasattr(os, "posix_fadvise"):
            first, last = self._blob.file_offset(start), self._blob.file_offset(end) + _SEGMENT_SLACK
            os.posix_fadvise(self._blob.fileno(), first, last - first, os.POSIX_FADV_SEQUENTIAL)

    def _drop_behind(self, offset: int) -> None:
        """Large objects stream through a small, recycled window of page cache, as they are written
        (see `BlobWriter._start_writeback`): a 10 GiB download must not evict everything else, and reusing
        freed pages is cheaper than taking fresh ones. Small objects stay cached. Only pages this reader
        read itself are dropped, so parallel ranged downloads of one object do not evict each other's."""
        if self._dropped is None:
            self._dropped = offset
        if self.info.size < _DROP_BEHIND_MIN or offset - self._dropped < _DROP_BEHIND_WINDOW:
            return
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(
                self._blob.fileno(), self._dropped, offset - self._dropped, os.POSIX_FADV_DONTNEED
            )
        self._dropped = offset

    def spans(self, start: int, end: int, chunk_size: int = _READ_CHUNK) -> Iterator[tuple[int, int]]:
        """`(offset, size)` pieces of `[start, end)` cut at multiples of `chunk_size`: with a chunk size that
        is a multiple of the segment size, each piece decrypts whole segments and no segment twice."""
        while start < end:
            size = min(chunk_size - start % chunk_size, end - start)
            yield start, size
            start += size

    def iter_range(
        self, start: int = 0, end: int | None = None, chunk_size: int = _READ_CHUNK
    ) -> Iterator[bytes]:
        """The bytes `[start, end)` in chunks of at most `chunk_size` (constant memory)."""
        stop = self.info.size if end is None else min(end, self.info.size)
        for offset, size in self.spans(start, stop, chunk_size):
            yield self.read_at(offset, size)

    def close(self) -> None:
        self._blob.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ObjectStore:
    """Buckets, objects and multipart uploads (`store.uploads`) under one directory."""

    def __init__(
        self, root: Path, *, keyring: Keyring, legacy_owner: str = LEGACY_OWNER, min_part_size: int = 5 << 20
    ) -> None:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.default_owner = legacy_owner
        self._blobs = BlobDir(root, keyring)
        self._catalog = ObjectIndex(root / "catalog.sqlite3", legacy_owner=legacy_owner)
        legacy.seal_plaintext_blobs(blobs=self._blobs, catalog=self._catalog, keyring=keyring)
        self.uploads = MultipartUploads(self._catalog, self._blobs, self._commit, min_part_size=min_part_size)
        self._sweep_orphans(_ORPHAN_GRACE_S)

    def close(self) -> None:
        self._catalog.close()
        self._blobs.close()

    def __enter__(self) -> ObjectStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def totals(self) -> StoreTotals:
        """How many objects the store holds, and their bytes (as stored by their owners, before sealing)."""
        with self._catalog.connect() as db:
            objects, size = self._catalog.totals(db)
        return StoreTotals(objects=objects, bytes=size)

    # -- buckets ---------------------------------------------------------------------------------

    def create_bucket(self, name: str, *, owner: str) -> BucketInfo:
        """Create an empty bucket owned by the account `owner`. Names are global, as in S3: one another
        account owns raises BucketAlreadyExists; re-creating one's own returns it (as S3 in us-east-1)."""
        check_bucket(name)
        created_ms = now_ms()
        with self._catalog.write() as db:
            existing = self._catalog.get_bucket(db, name)
            if existing is not None:
                if existing.owner != owner:
                    raise errors.BucketAlreadyExists(_TAKEN, BucketName=name)
                return BucketInfo(name, ms_to_datetime(existing.created_ms))
            self._catalog.add_bucket(db, name, created_ms, owner)
        return BucketInfo(name, ms_to_datetime(created_ms))

    def head_bucket(self, name: str) -> BucketInfo:
        check_bucket(name)
        with self._catalog.connect() as db:
            return BucketInfo(name, ms_to_datetime(self._require_bucket(db, name)))

    def bucket_owner(self, name: str) -> str:
        """The account that owns the bucket; NoSuchBucket if there is none of that name."""
        check_bucket(name)
        with self._catalog.connect() as db:
            bucket = self._catalog.get_bucket(db, name)
        if bucket is None:
            raise errors.NoSuchBucket(_NO_BUCKET, BucketName=name)
        return bucket.owner

    def check_owner(self, bucket: str, owner: str) -> None:
        """NoSuchBucket if `bucket` does not exist, AccessDenied if an account other than `owner` owns it."""
        if self.bucket_owner(bucket) != owner:
            raise errors.AccessDenied("Access Denied", BucketName=bucket)

    def list_buckets(self, *, owner: str) -> list[BucketInfo]:
        """The buckets the account `owner` owns, by name."""
        with self._catalog.connect() as db:
            buckets = self._catalog.list_buckets(db, owner)
        return [BucketInfo(name, ms_to_datetime(ms)) for name, ms in buckets]

    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket (its unfinished multipart uploads go with it); BucketNotEmpty otherwise."""
        check_bucket(name)
        with self._catalog.write() as db:
            self._require_bucket(db, name)
            if self._catalog.bucket_has_objects(db, name):
                raise errors.BucketNotEmpty(_NOT_EMPTY, BucketName=name)
            part_blobs = self._drop_uploads(db, name)
            self._catalog.delete_bucket(db, name)
        self._blobs.unlink(part_blobs)

    # -- objects ---------------------------------------------------------------------------------

    def open_writer(
        self, bucket: str, key: str, meta: ObjectMeta | None = None, *, extra_hashes: Collection[str] = ()
    ) -> Writer[ObjectInfo]:
        """A writer for a new version of `key`; nothing is visible until `commit()`."""
        self.head_bucket(bucket)  # refuse early, before a client sends a whole body
        check_key(key)
        final = meta or ObjectMeta()

        def publish(tmp: Path, digests: Digests) -> ObjectInfo:
            blob_id = self._blobs.publish(tmp)
            return self._commit(bucket, key, final, blob_id, digests.size, digests.etag, digests.crc32)

        return Writer(self._blobs.new_writer(extra_hashes), publish)

    def put_object(
        self, bucket: str, key: str, data: bytes | Iterable[bytes], meta: ObjectMeta | None = None
    ) -> ObjectInfo:
        """Write a whole object from bytes or an iterable of chunks."""
        with self.open_writer(bucket, key, meta) as writer:
            for chunk in [data] if isinstance(data, bytes) else data:
                writer.write(chunk)
            return writer.commit()

    def put_file(self, bucket: str, key: str, src: Path, meta: ObjectMeta | None = None) -> ObjectInfo:
        """Upload a local file in chunks."""
        with src.open("rb") as f:
            return self.put_object(bucket, key, iter(lambda: f.read(8 << 20), b""), meta)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        check_bucket(bucket)
        check_key(key)
        return self._info(bucket, self._lookup(bucket, key))

    def open_object(self, bucket: str, key: str) -> ObjectReader:
        """Open the current version of `key`; the caller must close the reader."""
        check_bucket(bucket)
        check_key(key)
        for _ in range(_OPEN_RETRIES):
            row = self._lookup(bucket, key)
            try:
                blob = self._blobs.open(row.blob, row.size)
            except FileNotFoundError:
                continue  # replaced between the lookup and the open: look again
            except SealError as exc:
                raise errors.corrupt(bucket, key, str(exc)) from None
            return ObjectReader(self._info(bucket, row), blob)
        raise errors.StorageError(f"{key!r} is being rewritten too often to be read")

    def read_object(self, bucket: str, key: str) -> bytes:
        """The whole object in memory: for small objects only."""
        with self.open_object(bucket, key) as reader:
            return b"".join(reader.iter_range())

    def get_file(self, bucket: str, key: str, dest: Path) -> ObjectInfo:
        """Download to `dest` atomically (temp file in the same directory, then rename)."""
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        try:
            with self.open_object(bucket, key) as reader, tmp.open("wb") as out:
                for chunk in reader.iter_range(chunk_size=8 << 20):
                    out.write(chunk)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return reader.info

    def copy_object(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, meta: ObjectMeta | None = None
    ) -> ObjectInfo:
        """Copy bytes (a hard link: no data is read; the blob's header carries its wrapped data key, so the
        copy shares it) and metadata, or replace the metadata with `meta`.
        The copy keeps the source's ETag (S3 recomputes a plain MD5 when copying a multipart object)."""
        check_bucket(dst_bucket)
        check_key(dst_key)
        check_bucket(src_bucket)
        check_key(src_key)
        for _ in range(_OPEN_RETRIES):
            row = self._lookup(src_bucket, src_key)
            try:
                blob_id = self._blobs.link(row.blob)
            except FileNotFoundError:
                continue  # replaced between the lookup and the link: look again
            final = meta or load_meta(row.meta)
            return self._commit(dst_bucket, dst_key, final, blob_id, row.size, row.etag, row.crc32)
        raise errors.StorageError(f"{src_key!r} is being rewritten too often to be copied")

    def delete_object(self, bucket: str, key: str) -> None:
        """Remove `key` if present (deleting a missing key succeeds, as in S3)."""
        check_bucket(bucket)
        check_key(key)
        with self._catalog.write() as db:
            self._require_bucket(db, bucket)
            blob = self._catalog.delete_object(db, bucket, key.encode())
        self._blobs.unlink([blob] if blob else [])

    def list_objects(
        self, bucket: str, *, prefix: str = "", delimiter: str = "", after: str = "", max_keys: int = 1000
    ) -> ListPage:
        """One page of keys after `after` (exclusive) under `prefix`, rolled up at `delimiter`."""
        check_bucket(bucket)
        with self._catalog.connect() as db:
            self._require_bucket(db, bucket)

            def scan(after: bytes, prefix: bytes, below: bytes, limit: int) -> list[ObjectRow]:
                return self._catalog.scan(db, bucket, after=after, prefix=prefix, below=below, limit=limit)

            query = ListQuery(prefix, delimiter, after)
            return list_page(scan, lambda row: self._info(bucket, row), query, max_keys)

    # -- internals shared with multipart ---------------------------------------------------------

    def _commit(
        self,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        blob_id: str,
        size: int,
        etag: str,
        crc32: int | None,
        inside: Callable[[sqlite3.Connection], None] | None = None,
    ) -> ObjectInfo:
        """Point `key` at a published blob (and run `inside` in the same transaction); on failure the
        blob is unlinked, on success the replaced one is."""
        row = ObjectRow(key.encode(), blob_id, size, etag, now_ms(), dump_meta(meta), crc32)
        try:
            with self._catalog.write() as db:
                self._require_bucket(db, bucket)
                if inside is not None:
                    inside(db)
                replaced = self._catalog.put_object(db, bucket, row)
        except BaseException:
            self._blobs.unlink([blob_id])
            raise
        self._blobs.unlink([replaced] if replaced else [])
        return self._info(bucket, row)

    def _lookup(self, bucket: str, key: str) -> ObjectRow:
        with self._catalog.connect() as db:
            row = self._catalog.get_object(db, bucket, key.encode())
            if row is None:
                self._require_bucket(db, bucket)
                raise errors.NoSuchKey("The specified key does not exist.", Key=key)
            return row

    def _require_bucket(self, db: sqlite3.Connection, name: str) -> int:
        created = self._catalog.bucket_created_ms(db, name)
        if created is None:
            raise errors.NoSuchBucket(_NO_BUCKET, BucketName=name)
        return created

    def _drop_uploads(self, db: sqlite3.Connection, bucket: str) -> list[str]:
        blobs: list[str] = []
        for upload_id in self._catalog.upload_ids(db, bucket):
            blobs += self._catalog.delete_upload(db, upload_id) or []
        return blobs

    def _info(self, bucket: str, row: ObjectRow) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=row.key.decode(),
            size=row.size,
            etag=row.etag,
            last_modified=ms_to_datetime(row.modified_ms),
            meta=load_meta(row.meta),
            crc32=row.crc32,
        )

    def _sweep_orphans(self, grace_s: float) -> None:
        """Unlink blobs no index row points to: left by a crash between a blob's rename and its commit,
        or between a commit and the unlink of the blob it replaced. The grace period spares blobs that
        another live store on this root has just renamed and is about to commit."""
        for shard in self._blobs.shards():
            found = dict(self._blobs.iter_blob_ids(shard))
            if not found:
                continue
            with self._catalog.connect() as db:
                referenced = self._catalog.referenced_blobs(db, shard, shard + "g")  # ids are hex
            stale = [b for b, mtime in found.items() if b not in referenced and is_older_than(mtime, grace_s)]
            self._blobs.unlink(stale)


_TAKEN = (
    "The requested bucket name is not available. The bucket namespace is shared by all users of the "
    "system. Please select a different name and try again."
)
_NO_BUCKET = "The specified bucket does not exist"
_NOT_EMPTY = "The bucket you tried to delete is not empty"
