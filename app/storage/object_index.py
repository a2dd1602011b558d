"""The store's index: one SQLite file mapping buckets, keys, uploads and parts to blob files.

Why SQLite rather than key-named files or JSON sidecars: keys never become paths (no traversal, no
case-folding or length limits of the filesystem); ListObjectsV2 is a range scan of the `(bucket, key)`
primary key in S3's order (keys are stored as UTF-8 BLOBs, which compare bytewise exactly as S3 sorts);
replacing a key, completing an upload or deleting a bucket is one transaction; WAL mode lets readers
run while one writer commits. One file for the whole store (not one per bucket) so that cross-bucket
copies and bucket creation/deletion need no multi-file coordination. It is the store's own file, next
to the blobs it describes, and independent of the service database.

Older index files are upgraded in place when opened, each step idempotent (a crash midway is finished by
the next start):
- buckets get an `owner` column (the 12-digit account id; names stay global, as in S3); the buckets of an
  older index are given to `legacy_owner`, the account every request acted as before accounts existed;
- `PRAGMA user_version` below `SEALED_VERSION` means blobs written before encryption may be plaintext:
  the store seals them in place (`legacy.seal_plaintext_blobs`), then records the version. A new index
  starts at `SEALED_VERSION`.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.storage.models import ObjectMeta

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    owner TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key BLOB NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    modified_ms INTEGER NOT NULL,
    meta TEXT NOT NULL,
    crc32 INTEGER,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_by_blob ON objects(blob);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key BLOB NOT NULL,
    initiated_ms INTEGER NOT NULL,
    meta TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads(bucket, key, initiated_ms);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 BLOB NOT NULL,
    crc32 INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS parts_by_blob ON parts(blob);
"""

_OBJECT_COLUMNS = "key, blob, size, etag, modified_ms, meta, crc32"
SEALED_VERSION = 2  # `user_version` once every blob is sealed


@dataclass(frozen=True)
class BucketRow:
    name: str
    created_ms: int
    owner: str


@dataclass(frozen=True)
class ObjectRow:
    key: bytes
    blob: str
    size: int
    etag: str
    modified_ms: int
    meta: str
    crc32: int | None


@dataclass(frozen=True)
class UploadRow:
    upload_id: str
    bucket: str
    key: bytes
    initiated_ms: int
    meta: str


@dataclass(frozen=True)
class PartRow:
    part_number: int
    blob: str
    size: int
    md5: bytes
    crc32: int
    modified_ms: int


def dump_meta(meta: ObjectMeta) -> str:
    doc = {"ct": meta.content_type, "um": dict(meta.user_metadata), "h": dict(meta.headers)}
    return json.dumps(doc, separators=(",", ":"))


def load_meta(text: str) -> ObjectMeta:
    doc = json.loads(text)
    return ObjectMeta(content_type=doc["ct"], user_metadata=doc["um"], headers=doc["h"])


class ObjectIndex:
    """All SQL of the store. Connections come from a small pool; each is used by one thread at a time."""

    def __init__(self, path: Path, *, legacy_owner: str) -> None:
        self._path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        # Created private before SQLite opens it; SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
        with self.write() as db:
            fresh = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'buckets'").fetchone() is None
            if not fresh:
                _add_bucket_owners(db, legacy_owner)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if fresh:
                db.execute(f"PRAGMA user_version = {SEALED_VERSION}")

    def version(self) -> int:
        """The schema version (`PRAGMA user_version`); `SEALED_VERSION` once every blob is sealed."""
        with self.connect() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def set_version(self, version: int) -> None:
        with self.connect() as db:
            db.execute(f"PRAGMA user_version = {int(version)}")

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = self._open()
        try:
            yield db
        finally:
            if db.in_transaction:  # the caller failed inside a transaction: undo it before reuse
                db.rollback()
            self._idle.put(db)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken eagerly (IMMEDIATE) so that concurrent writers queue, not deadlock."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, timeout=60, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is durable before we unlink the blob it replaced.
        db.execute("PRAGMA synchronous=FULL")
        return db

    # -- buckets ---------------------------------------------------------------------------------

    def bucket_created_ms(self, db: sqlite3.Connection, name: str) -> int | None:
        row = db.execute("SELECT created_ms FROM buckets WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def get_bucket(self, db: sqlite3.Connection, name: str) -> BucketRow | None:
        row = db.execute("SELECT name, created_ms, owner FROM buckets WHERE name = ?", (name,)).fetchone()
        return None if row is None else BucketRow(str(row[0]), int(row[1]), str(row[2]))

    def add_bucket(self, db: sqlite3.Connection, name: str, created_ms: int, owner: str) -> None:
        db.execute(
            "INSERT INTO buckets (name, created_ms, owner) VALUES (?, ?, ?)", (name, created_ms, owner)
        )

    def delete_bucket(self, db: sqlite3.Connection, name: str) -> None:
        db.execute("DELETE FROM buckets WHERE name = ?", (name,))

    def list_buckets(self, db: sqlite3.Connection, owner: str) -> list[tuple[str, int]]:
        sql = "SELECT name, created_ms FROM buckets WHERE owner = ? ORDER BY name"
        return [(str(n), int(c)) for n, c in db.execute(sql, (owner,))]

    def all_blobs(self, db: sqlite3.Connection) -> list[tuple[str, int]]:
        """(blob id, size) of every blob an object or a part points to."""
        sql = "SELECT blob, size FROM objects UNION SELECT blob, size FROM parts"
        return [(str(b), int(n)) for b, n in db.execute(sql)]

    def bucket_has_objects(self, db: sqlite3.Connection, name: str) -> bool:
        return db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone() is not None

    # -- objects ---------------------------------------------------------------------------------

    def get_object(self, db: sqlite3.Connection, bucket: str, key: bytes) -> ObjectRow | None:
        sql = f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?"
        row = db.execute(sql, (bucket, key)).fetchone()
        return None if row is None else ObjectRow(*row)

    def put_object(self, db: sqlite3.Connection, bucket: str, row: ObjectRow) -> str | None:
        """Insert or replace a key inside the caller's write transaction; returns the replaced blob."""
        old = self.get_object(db, bucket, row.key)
        db.execute(
            f"INSERT OR REPLACE INTO objects (bucket, {_OBJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (bucket, row.key, row.blob, row.size, row.etag, row.modified_ms, row.meta, row.crc32),
        )
        return None if old is None else old.blob

    def delete_object(self, db: sqlite3.Connection, bucket: str, key: bytes) -> str | None:
        row = db.execute("DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blob", (bucket, key))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def scan(
        self, db: sqlite3.Connection, bucket: str, *, after: bytes, prefix: bytes, below: bytes, limit: int
    ) -> list[ObjectRow]:
        """Objects with `key > after`, `prefix <= key < below`, in key order (bytewise, as S3 sorts)."""
        sql = (
            f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key > ? AND key >= ? AND key < ? "
            "ORDER BY key LIMIT ?"
        )
        return [ObjectRow(*row) for row in db.execute(sql, (bucket, after, prefix, below, limit))]

    def referenced_blobs(self, db: sqlite3.Connection, low: str, high: str) -> set[str]:
        """Blob ids in `[low, high)` that an object or a part points to (for the orphan sweep)."""
        sql = (
            "SELECT blob FROM objects WHERE blob >= ?1 AND blob < ?2 "
            "UNION SELECT blob FROM parts WHERE blob >= ?1 AND blob < ?2"
        )
        return {str(row[0]) for row in db.execute(sql, (low, high))}

    # -- multipart uploads -----------------------------------------------------------------------

    def get_upload(self, db: sqlite3.Connection, upload_id: str) -> UploadRow | None:
        sql = "SELECT upload_id, bucket, key, initiated_ms, meta FROM uploads WHERE upload_id = ?"
        row = db.execute(sql, (upload_id,)).fetchone()
        return None if row is None else UploadRow(*row)

    def add_upload(self, db: sqlite3.Connection, row: UploadRow) -> None:
        db.execute(
            "INSERT INTO uploads (upload_id, bucket, key, initiated_ms, meta) VALUES (?, ?, ?, ?, ?)",
            (row.upload_id, row.bucket, row.key, row.initiated_ms, row.meta),
        )

    def list_uploads(self, db: sqlite3.Connection, bucket: str, prefix: bytes, limit: int) -> list[UploadRow]:
        sql = (
            "SELECT upload_id, bucket, key, initiated_ms, meta FROM uploads "
            "WHERE bucket = ? AND substr(key, 1, ?) = ? ORDER BY key, initiated_ms LIMIT ?"
        )
        return [UploadRow(*row) for row in db.execute(sql, (bucket, len(prefix), prefix, limit))]

    def delete_upload(self, db: sqlite3.Connection, upload_id: str) -> list[str] | None:
        """Delete an upload and its parts; returns the part blobs to unlink, None if it was not there."""
        blobs = [str(r[0]) for r in db.execute("SELECT blob FROM parts WHERE upload_id = ?", (upload_id,))]
        gone = db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,)).rowcount
        return blobs if gone else None

    def uploads_initiated_before(self, db: sqlite3.Connection, cutoff_ms: int, limit: int) -> list[str]:
        sql = "SELECT upload_id FROM uploads WHERE initiated_ms < ? ORDER BY initiated_ms LIMIT ?"
        return [str(r[0]) for r in db.execute(sql, (cutoff_ms, limit))]

    def upload_ids(self, db: sqlite3.Connection, bucket: str) -> list[str]:
        return [str(r[0]) for r in db.execute("SELECT upload_id FROM uploads WHERE bucket = ?", (bucket,))]

    def put_part(self, db: sqlite3.Connection, upload_id: str, row: PartRow) -> str | None:
        """Insert or replace a part; returns the replaced part's blob."""
        old = db.execute(
            "SELECT blob FROM parts WHERE upload_id = ? AND part_number = ?", (upload_id, row.part_number)
        ).fetchone()
        db.execute(
            "INSERT OR REPLACE INTO parts (upload_id, part_number, blob, size, md5, crc32, modified_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (upload_id, row.part_number, row.blob, row.size, row.md5, row.crc32, row.modified_ms),
        )
        return None if old is None else str(old[0])

    def list_parts(self, db: sqlite3.Connection, upload_id: str, after: int, limit: int) -> list[PartRow]:
        sql = (
            "SELECT part_number, blob, size, md5, crc32, modified_ms FROM parts "
            "WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?"
        )
        return [PartRow(*row) for row in db.execute(sql, (upload_id, after, limit))]

    def get_parts(self, db: sqlite3.Connection, upload_id: str, numbers: Sequence[int]) -> dict[int, PartRow]:
        rows = self.list_parts(db, upload_id, 0, 100_000)
        wanted = set(numbers)
        return {row.part_number: row for row in rows if row.part_number in wanted}


def _add_bucket_owners(db: sqlite3.Connection, legacy_owner: str) -> None:
    """Upgrade 1: an index made before buckets had owners gives them all to `legacy_owner`."""
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(buckets)")}
    if "owner" not in columns:
        db.execute("ALTER TABLE buckets ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
        db.execute("UPDATE buckets SET owner = ?", (legacy_owner,))
