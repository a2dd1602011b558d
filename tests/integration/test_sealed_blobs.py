"""Encryption at rest: sealed segments read back exactly, ranged reads decrypt what they need, and any
tampering with a blob (a flipped byte, a cut, swapped segments, a key moved between blobs) is an error,
never data."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.crypto.keyring import Keyring
from app.storage import errors
from app.storage.object_index import SEALED_VERSION
from app.storage.object_store import ObjectStore
from app.storage.sealed import SegmentReader, SegmentWriter
from app.storage.segments import SEGMENT_BYTES, TAG_BYTES, SealError
from tests.support.keys import TEST_KEYRING

OWNER = "123456789012"
OTHER = "210987654321"
SMALL = 64  # segment size of the format-level tests: many segments from a few bytes
MARKER = b"MARKER-6f1d2c0e-sagelite-plaintext-canary"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> Iterator[ObjectStore]:
    with ObjectStore(root, keyring=TEST_KEYRING, min_part_size=SEGMENT_BYTES) as opened:
        opened.create_bucket("data", owner=OWNER)
        yield opened


def blob_files(root: Path) -> set[Path]:
    return {p for p in (root / "blobs").rglob("*") if p.is_file()}


def put_blob(store: ObjectStore, root: Path, key: str, data: bytes) -> Path:
    """Write an object; the path of the blob file that holds it."""
    before = blob_files(root)
    store.put_object("data", key, data)
    (blob,) = blob_files(root) - before
    return blob


def seal(path: Path, data: bytes, *, segment_bytes: int = SMALL, chunk: int = 7) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = SegmentWriter(fd, TEST_KEYRING, segment_bytes=segment_bytes)
        for start in range(0, len(data), chunk):
            writer.write(data[start : start + chunk])
        writer.finish()
    finally:
        os.close(fd)


def open_sealed(path: Path, size: int, keyring: Keyring = TEST_KEYRING) -> SegmentReader:
    fd = os.open(path, os.O_RDONLY)
    try:
        return SegmentReader(fd, keyring, size)
    except BaseException:
        os.close(fd)
        raise


# -- the format ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL, 3 * SMALL + 5])
def test_sizes_round_trip_with_one_tag_per_segment(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    seal(tmp_path / "blob", data)
    reader = open_sealed(tmp_path / "blob", size)
    try:
        assert reader.read_at(0, size + 10) == data
        assert reader.geometry.segments == max(1, -(-size // SMALL))
        assert (tmp_path / "blob").stat().st_size == reader.geometry.header_bytes + size + TAG_BYTES * max(
            1, -(-size // SMALL)
        )
    finally:
        reader.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(min_size=0, max_size=6 * SMALL), start=st.integers(0, 7 * SMALL), size=st.integers(0, 400)
)
def test_any_range_reads_exactly_those_bytes(tmp_path: Path, data: bytes, start: int, size: int) -> None:
    path = tmp_path / f"blob-{os.urandom(4).hex()}"
    seal(path, data, chunk=13)
    reader = open_sealed(path, len(data))
    try:
        assert reader.read_at(start, size) == data[start : start + size]
    finally:
        reader.close()
        path.unlink()


def test_a_small_range_decrypts_only_the_segments_it_touches(tmp_path: Path) -> None:
    data = os.urandom(10 * SMALL)
    seal(tmp_path / "blob", data)
    reader = open_sealed(tmp_path / "blob", len(data))
    garbage = reader.geometry.file_offset(7)  # segment 7 ruined: ranges elsewhere still read
    with (tmp_path / "blob").open("r+b") as f:
        f.seek(garbage)
        f.write(b"\x00" * SMALL)
    try:
        assert reader.read_at(SMALL - 3, 6) == data[SMALL - 3 : SMALL + 3]  # across one boundary
        assert reader.read_at(6 * SMALL, SMALL) == data[6 * SMALL : 7 * SMALL]
        with pytest.raises(SealError):
            reader.read_at(7 * SMALL + 1, 1)
    finally:
        reader.close()


def test_a_blob_under_another_master_key_does_not_open(tmp_path: Path) -> None:
    seal(tmp_path / "blob", b"secret")
    with pytest.raises(SealError):
        open_sealed(tmp_path / "blob", 6, Keyring(b"\x01" * 32))


def test_a_size_that_lies_is_refused(tmp_path: Path) -> None:
    seal(tmp_path / "blob", os.urandom(2 * SMALL))
    with pytest.raises(SealError):
        open_sealed(tmp_path / "blob", 2 * SMALL - 1)


def test_dropping_the_last_segment_and_claiming_the_shorter_size_fails(tmp_path: Path) -> None:
    """A cut at a segment boundary, with a matching size: the new last segment is not marked final."""
    data = os.urandom(3 * SMALL)
    seal(tmp_path / "blob", data)
    reader = open_sealed(tmp_path / "blob", len(data))
    cut = reader.geometry.file_offset(2)
    reader.close()
    os.truncate(tmp_path / "blob", cut)
    shorter = open_sealed(tmp_path / "blob", 2 * SMALL)
    try:
        assert shorter.read_at(0, SMALL) == data[:SMALL]
        with pytest.raises(SealError):
            shorter.read_at(SMALL, SMALL)
    finally:
        shorter.close()


# -- ranged reads through the store ----------------------------------------------------------------


def test_ranges_at_and_across_segment_boundaries(store: ObjectStore) -> None:
    s = SEGMENT_BYTES
    data = os.urandom(3 * s + 777)
    store.put_object("data", "big", data)
    ranges = [
        (0, 1),
        (s - 1, 1),
        (s - 1, 2),
        (s, 1),
        (s, s),
        (s - 5, s + 10),
        (2 * s + 3, s + 774),
        (0, 3 * s),
    ]
    with store.open_object("data", "big") as reader:
        for start, size in ranges:
            assert reader.read_at(start, size) == data[start : start + size], (start, size)
        assert b"".join(reader.iter_range(s - 10, 3 * s + 20)) == data[s - 10 : 3 * s + 20]
        assert [size for _, size in reader.spans(s - 10, 3 * s + 20)] == [10, s, s, 20]


def test_multipart_and_copies_round_trip(store: ObjectStore, root: Path) -> None:
    parts = [os.urandom(SEGMENT_BYTES + 3), os.urandom(SEGMENT_BYTES), os.urandom(1000)]
    upload = store.uploads.create("data", "mp")
    etags = [
        store.uploads.upload_part("data", "mp", upload.upload_id, n, p).etag for n, p in enumerate(parts, 1)
    ]
    store.uploads.complete("data", "mp", upload.upload_id, list(enumerate(etags, 1)))
    whole = b"".join(parts)
    assert store.read_object("data", "mp") == whole
    store.copy_object("data", "mp", "data", "mp-copy")
    assert store.read_object("data", "mp-copy") == whole
    copy_upload = store.uploads.create("data", "part-copied")
    with store.open_object("data", "mp") as source:
        first = store.uploads.copy_part(
            "data", "part-copied", copy_upload.upload_id, 1, source.read_at, 5, 5 + SEGMENT_BYTES
        )
        second = store.uploads.copy_part(
            "data", "part-copied", copy_upload.upload_id, 2, source.read_at, 0, 10
        )
    store.uploads.complete("data", "part-copied", copy_upload.upload_id, [(1, first.etag), (2, second.etag)])
    assert store.read_object("data", "part-copied") == whole[5 : 5 + SEGMENT_BYTES] + whole[:10]


def test_no_plaintext_anywhere_under_the_store(store: ObjectStore, root: Path) -> None:
    dataset = MARKER + os.urandom(SEGMENT_BYTES) + MARKER * 1000
    store.put_object(
        "data",
        "dataset.csv",
        dataset,
    )
    upload = store.uploads.create("data", "multipart.csv")
    etag = store.uploads.upload_part("data", "multipart.csv", upload.upload_id, 1, dataset).etag
    store.uploads.complete("data", "multipart.csv", upload.upload_id, [(1, etag)])
    store.copy_object("data", "dataset.csv", "data", "copied.csv")
    assert store.read_object("data", "copied.csv") == dataset
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) >= 4  # the index and three blobs at least: the search did look somewhere
    assert [p for p in files if MARKER in p.read_bytes() or MARKER[:16] in p.read_bytes()] == []


# -- tampering -------------------------------------------------------------------------------------


def refused(store: ObjectStore, key: str) -> None:
    """Opening or reading `key` fails with CorruptObject (InternalError, 500) before yielding a byte."""
    received: list[bytes] = []
    with pytest.raises(errors.CorruptObject) as caught, store.open_object("data", key) as reader:
        received.extend(reader.iter_range())
    assert received == []
    assert caught.value.code == "InternalError" and caught.value.http_status == 500


def test_a_flipped_byte_anywhere_is_refused(store: ObjectStore, root: Path) -> None:
    data = os.urandom(SEGMENT_BYTES + 100)
    for name, where in [("header", 10), ("wrapped key", 40), ("segment", 5000), ("tag", -1)]:
        blob = put_blob(store, root, name, data)
        raw = bytearray(blob.read_bytes())
        raw[where] ^= 0x01
        blob.write_bytes(bytes(raw))
        with pytest.raises(errors.CorruptObject):
            store.read_object("data", name)


def test_a_truncated_blob_is_refused_at_open(store: ObjectStore, root: Path) -> None:
    blob = put_blob(store, root, "cut", os.urandom(2 * SEGMENT_BYTES))
    for size in (blob.stat().st_size - 1, blob.stat().st_size - SEGMENT_BYTES - TAG_BYTES, 50, 0):
        os.truncate(blob, size)
        with pytest.raises(errors.CorruptObject):
            store.open_object("data", "cut")


def test_swapped_segments_are_refused(store: ObjectStore, root: Path) -> None:
    blob = put_blob(store, root, "swapped", os.urandom(3 * SEGMENT_BYTES))
    raw = blob.read_bytes()
    size = SEGMENT_BYTES + TAG_BYTES
    header = len(raw) - 3 * size
    first, second = raw[header : header + size], raw[header + size : header + 2 * size]
    blob.write_bytes(raw[:header] + second + first + raw[header + 2 * size :])
    with store.open_object("data", "swapped") as reader, pytest.raises(errors.CorruptObject):
        reader.read_at(0, SEGMENT_BYTES)
    with store.open_object("data", "swapped") as reader:  # the untouched third segment still reads
        assert len(reader.read_at(2 * SEGMENT_BYTES, SEGMENT_BYTES)) == SEGMENT_BYTES


def test_wrapped_keys_and_headers_swapped_between_blobs_are_refused(store: ObjectStore, root: Path) -> None:
    a = put_blob(store, root, "a", os.urandom(5000))
    b = put_blob(store, root, "b", os.urandom(5000))
    raw_a, raw_b = a.read_bytes(), b.read_bytes()
    header = len(raw_a) - 5000 - TAG_BYTES
    key_at = 4 + 4 + 16 + 2  # magic, segment size, salt, key length: the wrapped key follows
    a.write_bytes(raw_a[:key_at] + raw_b[key_at:header] + raw_a[header:])  # only the wrapped key moved
    refused(store, "a")
    b.write_bytes(raw_a[:header] + raw_b[header:])  # a's whole (valid) header on b's segments
    refused(store, "b")


# -- ownership -------------------------------------------------------------------------------------


def test_bucket_names_are_global_and_owned(store: ObjectStore) -> None:
    with pytest.raises(errors.BucketAlreadyExists) as taken:
        store.create_bucket("data", owner=OTHER)
    assert taken.value.http_status == 409
    assert store.create_bucket("data", owner=OWNER).name == "data"  # one's own again: fine (us-east-1)
    store.create_bucket("theirs", owner=OTHER)
    assert store.bucket_owner("theirs") == OTHER
    assert [b.name for b in store.list_buckets(owner=OWNER)] == ["data"]
    assert [b.name for b in store.list_buckets(owner=OTHER)] == ["theirs"]
    store.check_owner("data", OWNER)
    with pytest.raises(errors.AccessDenied) as denied:
        store.check_owner("theirs", OWNER)
    assert (denied.value.http_status, denied.value.message) == (403, "Access Denied")
    with pytest.raises(errors.NoSuchBucket):
        store.bucket_owner("nobody-has-this")


# -- upgrading a store from before encryption and owners --------------------------------------------

_OLD_SCHEMA = """
CREATE TABLE buckets (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE objects (
    bucket TEXT NOT NULL REFERENCES buckets(name), key BLOB NOT NULL, blob TEXT NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL, modified_ms INTEGER NOT NULL, meta TEXT NOT NULL,
    crc32 INTEGER, PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
"""


def test_an_older_store_is_upgraded_in_place(root: Path) -> None:
    blob_id = "ab" + "0" * 30
    (root / "blobs" / "ab").mkdir(parents=True)
    (root / "blobs" / "ab" / blob_id).write_bytes(MARKER)
    db = sqlite3.connect(root / "catalog.sqlite3")
    db.executescript(_OLD_SCHEMA)
    db.execute("INSERT INTO buckets VALUES ('old', 1)")
    meta = '{"ct":"binary/octet-stream","um":{},"h":{}}'
    db.execute(
        "INSERT INTO objects VALUES ('old', ?, ?, ?, '\"e\"', 1, ?, NULL)", (b"k", blob_id, len(MARKER), meta)
    )
    db.commit()
    db.close()
    with ObjectStore(root, keyring=TEST_KEYRING, legacy_owner=OTHER) as upgraded:
        assert upgraded.bucket_owner("old") == OTHER
        assert upgraded.read_object("old", "k") == MARKER
    assert MARKER not in (root / "blobs" / "ab" / blob_id).read_bytes()
    with ObjectStore(root, keyring=TEST_KEYRING) as again:  # the upgrade is done once
        assert again.read_object("old", "k") == MARKER
    check = sqlite3.connect(root / "catalog.sqlite3")
    assert check.execute("PRAGMA user_version").fetchone()[0] == SEALED_VERSION
    check.close()
