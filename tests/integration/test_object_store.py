"""`ObjectStore` on a real directory: atomicity, concurrency, key safety, S3's ETags, listing, multipart."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage import blobs, errors, object_store
from app.storage.models import ObjectMeta
from app.storage.object_store import ObjectStore
from app.storage.tar import pack_dir
from tests.support.keys import TEST_KEYRING

OWNER = "123456789012"
PART = 64 << 10  # the store's minimum part size in these tests (S3's is 5 MiB)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> Iterator[ObjectStore]:
    with ObjectStore(root, keyring=TEST_KEYRING, min_part_size=PART) as opened:
        opened.create_bucket("data", owner=OWNER)
        yield opened


def blob_files(root: Path) -> list[Path]:
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


def temp_files(root: Path) -> list[Path]:
    return [p for p in (root / "tmp").rglob("*") if p.is_file()]


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def s3_multipart_etag(parts: list[bytes]) -> str:
    """S3's documented formula, computed independently of the store."""
    digests = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


# -- objects -------------------------------------------------------------------------------------


def test_put_get_round_trip_with_metadata(store: ObjectStore) -> None:
    meta = ObjectMeta("text/csv", {"owner": "ml"}, {"Cache-Control": "no-cache"})
    info = store.put_object("data", "train/part-0.csv", b"a,b\n1,2\n", meta)
    assert info.etag == md5_etag(b"a,b\n1,2\n")
    assert info.size == 8
    head = store.head_object("data", "train/part-0.csv")
    assert head.meta == meta
    assert head.etag == info.etag
    assert store.read_object("data", "train/part-0.csv") == b"a,b\n1,2\n"


def test_streaming_read_ranges(store: ObjectStore) -> None:
    data = os.urandom(3 << 20)
    store.put_object("data", "big", (data[i : i + 100_000] for i in range(0, len(data), 100_000)))
    with store.open_object("data", "big") as reader:
        chunks = list(reader.iter_range(10, 2_000_010, chunk_size=1 << 19))
    assert all(len(chunk) <= 1 << 19 for chunk in chunks)
    assert b"".join(chunks) == data[10:2_000_010]


def test_page_cache_recycling_keeps_the_bytes(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large objects are written and read through a recycled page-cache window (posix_fadvise): shrink
    the thresholds so that a small object takes those paths, and check nothing changes."""
    monkeypatch.setattr(blobs, "_WRITEBACK_EVERY", 64 << 10)
    monkeypatch.setattr(object_store, "_DROP_BEHIND_MIN", 0)
    monkeypatch.setattr(object_store, "_DROP_BEHIND_WINDOW", 64 << 10)
    data = os.urandom(2 << 20)
    info = store.put_object("data", "recycled", (data[i : i + 50_000] for i in range(0, len(data), 50_000)))
    assert info.etag == md5_etag(data)
    with store.open_object("data", "recycled") as reader:
        assert b"".join(reader.iter_range(100, None, chunk_size=30_000)) == data[100:]


def test_put_file_and_get_file(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(100_000))
    store.put_file("data", "models/model.bin", source)
    dest = tmp_path / "copy.bin"
    store.get_file("data", "models/model.bin", dest)
    assert dest.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["copy.bin", "model.bin"]


def test_overwrite_replaces_and_frees_the_old_blob(store: ObjectStore, root: Path) -> None:
    store.put_object("data", "k", b"old")
    store.put_object("data", "k", b"new")
    assert store.read_object("data", "k") == b"new"
    assert len(blob_files(root)) == 1


def test_missing_things(store: ObjectStore) -> None:
    with pytest.raises(errors.NoSuchKey):
        store.head_object("data", "nope")
    with pytest.raises(errors.NoSuchBucket):
        store.head_object("nobucket", "k")
    with pytest.raises(errors.NoSuchBucket):
        store.put_object("nobucket", "k", b"x")
    store.delete_object("data", "nope")  # deleting a missing key succeeds, as in S3


def test_bucket_lifecycle(store: ObjectStore) -> None:
    assert store.create_bucket("data", owner=OWNER).name == "data"  # one's own: returned, as in us-east-1
    store.put_object("data", "k", b"x")
    with pytest.raises(errors.BucketNotEmpty):
        store.delete_bucket("data")
    store.delete_object("data", "k")
    store.delete_bucket("data")
    assert store.list_buckets(owner=OWNER) == []
    with pytest.raises(errors.NoSuchBucket):
        store.head_bucket("data")
    with pytest.raises(errors.InvalidName) as raised:
        store.create_bucket("Not_Valid", owner=OWNER)
    assert raised.value.code == "InvalidBucketName"


def test_copy_shares_bytes_and_can_replace_metadata(store: ObjectStore) -> None:
    store.create_bucket("other", owner=OWNER)
    original = store.put_object("data", "src", b"payload", ObjectMeta("text/plain", {"a": "1"}))
    copied = store.copy_object("data", "src", "other", "dst")
    replaced = store.copy_object("data", "src", "data", "src", ObjectMeta("application/json"))
    store.delete_object("data", "src")
    assert store.read_object("other", "dst") == b"payload"
    assert copied.etag == original.etag
    assert copied.meta == original.meta
    assert replaced.meta.content_type == "application/json"


# -- atomicity and concurrency -------------------------------------------------------------------


def test_concurrent_writers_to_one_key_leave_one_whole_object(store: ObjectStore, root: Path) -> None:
    payloads = [bytes([n]) * (1 << 20) + os.urandom(1000) for n in range(8)]
    barrier = threading.Barrier(len(payloads))

    def write(payload: bytes) -> None:
        barrier.wait()
        with store.open_writer("data", "contended") as writer:
            for offset in range(0, len(payload), 64 << 10):
                writer.write(payload[offset : offset + (64 << 10)])
                time.sleep(0)  # let the writers interleave
            writer.commit()

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = store.read_object("data", "contended")
    assert final in payloads
    assert store.head_object("data", "contended").etag == md5_etag(final)
    assert len(blob_files(root)) == 1  # every loser's blob was unlinked
    assert temp_files(root) == []


def test_readers_never_see_a_torn_object(store: ObjectStore) -> None:
    versions = [bytes([n]) * (256 << 10) for n in range(20)]
    store.put_object("data", "hot", versions[0])
    seen: list[bytes] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(store.read_object("data", "hot"))

    reader = threading.Thread(target=read)
    reader.start()
    for version in versions[1:]:
        store.put_object("data", "hot", version)
    done.set()
    reader.join()
    assert seen
    assert all(data in versions for data in seen)


def test_a_writer_that_fails_mid_stream_leaves_nothing(store: ObjectStore, root: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        store.put_object("data", "partial", chunks())
    with pytest.raises(errors.NoSuchKey):
        store.head_object("data", "partial")
    assert blob_files(root) == []
    assert temp_files(root) == []


def test_a_failed_overwrite_keeps_the_previous_object(store: ObjectStore) -> None:
    store.put_object("data", "k", b"version 1")
    with pytest.raises(RuntimeError), store.open_writer("data", "k") as writer:
        writer.write(b"version 2, half written")
        raise RuntimeError("boom")
    assert store.read_object("data", "k") == b"version 1"


_KILLED_UPLOAD = """
import os, sys
from pathlib import Path
from app.storage.object_store import ObjectStore
from tests.support.keys import TEST_KEYRING
store = ObjectStore(Path(sys.argv[1]), keyring=TEST_KEYRING)
writer = store.open_writer("data", "killed")
writer.write(b"x" * 100_000)
os._exit(9)  # killed mid-upload: no commit, no abort, no cleanup
"""


def test_killed_uploads_are_swept_at_startup_but_live_ones_are_not(root: Path) -> None:
    with ObjectStore(root, keyring=TEST_KEYRING) as first:
        first.create_bucket("data", owner=OWNER)
        live = first.open_writer("data", "live")
        live.write(b"still uploading")
        ours = temp_files(root)
        killed = subprocess.run([sys.executable, "-c", _KILLED_UPLOAD, str(root)], timeout=60, check=False)
        assert killed.returncode == 9
        assert len(temp_files(root)) == 2  # ours and the dead process's
        with ObjectStore(root, keyring=TEST_KEYRING) as second:
            assert temp_files(root) == ours
            assert live.commit().size == len(b"still uploading")  # the live writer's temp file survived
            assert second.read_object("data", "live") == b"still uploading"
            with pytest.raises(errors.NoSuchKey):
                second.head_object("data", "killed")


def test_orphan_blobs_are_swept_after_a_grace_period(root: Path) -> None:
    with ObjectStore(root, keyring=TEST_KEYRING) as first:
        first.create_bucket("data", owner=OWNER)
        first.put_object("data", "kept", b"kept")
    orphan = root / "blobs" / "ff" / ("ff" + "0" * 30)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"crashed between rename and commit")
    os.utime(orphan, (time.time() - 7200, time.time() - 7200))
    fresh = orphan.with_name("ff" + "1" * 30)
    fresh.write_bytes(b"another store is about to commit this")
    with ObjectStore(root, keyring=TEST_KEYRING) as second:
        assert not orphan.exists()
        assert fresh.exists()
        assert second.read_object("data", "kept") == b"kept"


# -- key safety ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("../escape", "InvalidArgument"),
        ("a/../../escape", "InvalidArgument"),
        ("/etc/passwd", "InvalidArgument"),
        ("nul\x00byte", "InvalidArgument"),
        ("k" * 1025, "KeyTooLongError"),
        ("é" * 513, "KeyTooLongError"),
    ],
)
def test_unsafe_keys_are_refused_everywhere(store: ObjectStore, tmp_path: Path, key: str, code: str) -> None:
    before = sorted(tmp_path.rglob("*"))
    for attempt in (
        lambda: store.put_object("data", key, b"x"),
        lambda: store.open_object("data", key),
        lambda: store.copy_object("data", "k", "data", key),
        lambda: store.uploads.create("data", key),
    ):
        with pytest.raises(errors.InvalidName) as raised:
            attempt()
        assert raised.value.code == code
    assert sorted(tmp_path.rglob("*")) == before


def test_keys_never_become_paths(store: ObjectStore, root: Path) -> None:
    store.put_object("data", "a/b/c.txt", b"x")
    assert not any(part in {"a", "b", "c.txt"} for path in root.rglob("*") for part in path.parts)


# -- multipart -----------------------------------------------------------------------------------


def test_multipart_etag_and_bytes_match_s3(store: ObjectStore, root: Path) -> None:
    parts = [os.urandom(PART), os.urandom(PART + 7), os.urandom(1000)]
    upload = store.uploads.create("data", "model.tar.gz", ObjectMeta("application/gzip"))
    etags = [
        store.uploads.upload_part("data", "model.tar.gz", upload.upload_id, n, p)
        for n, p in enumerate(parts, 1)
    ]
    page = store.uploads.list_parts("data", "model.tar.gz", upload.upload_id)
    assert [(p.part_number, p.size) for p in page.parts] == [(1, PART), (2, PART + 7), (3, 1000)]
    info = store.uploads.complete(
        "data", "model.tar.gz", upload.upload_id, [(n, part.etag) for n, part in enumerate(etags, 1)]
    )
    assert info.etag == s3_multipart_etag(parts)
    assert info.meta.content_type == "application/gzip"
    assert store.read_object("data", "model.tar.gz") == b"".join(parts)
    assert len(blob_files(root)) == 1  # the parts are gone
    with pytest.raises(errors.NoSuchUpload):
        store.uploads.list_parts("data", "model.tar.gz", upload.upload_id)


def test_multipart_refusals(store: ObjectStore) -> None:
    upload = store.uploads.create("data", "k")
    first = store.uploads.upload_part("data", "k", upload.upload_id, 1, b"small")
    second = store.uploads.upload_part("data", "k", upload.upload_id, 2, b"last")
    with pytest.raises(errors.InvalidPart):
        store.uploads.complete("data", "k", upload.upload_id, [(1, '"0000"'), (2, second.etag)])
    with pytest.raises(errors.InvalidPartOrder):
        store.uploads.complete("data", "k", upload.upload_id, [(2, second.etag), (1, first.etag)])
    with pytest.raises(errors.EntityTooSmall):
        store.uploads.complete("data", "k", upload.upload_id, [(1, first.etag), (2, second.etag)])
    with pytest.raises(errors.InvalidArgument):
        store.uploads.upload_part("data", "k", upload.upload_id, 10_001, b"x")
    with pytest.raises(errors.NoSuchUpload):
        store.uploads.upload_part("data", "other-key", upload.upload_id, 1, b"x")
    with pytest.raises(errors.NoSuchKey):
        store.head_object("data", "k")


def test_abort_removes_parts(store: ObjectStore, root: Path) -> None:
    upload = store.uploads.create("data", "k")
    store.uploads.upload_part("data", "k", upload.upload_id, 1, b"x" * 100)
    store.uploads.upload_part("data", "k", upload.upload_id, 1, b"y" * 100)  # replaces part 1
    assert len(blob_files(root)) == 1
    assert [u.upload_id for u in store.uploads.list_uploads("data")] == [upload.upload_id]
    store.uploads.abort("data", "k", upload.upload_id)
    assert blob_files(root) == []
    with pytest.raises(errors.NoSuchUpload):
        store.uploads.abort("data", "k", upload.upload_id)


# -- listing -------------------------------------------------------------------------------------


def test_list_with_prefix_delimiter_and_pages(store: ObjectStore) -> None:
    for key in ["a/1", "a/2", "a/b/3", "b", "c/d/e", "c/x"]:
        store.put_object("data", key, b"")
    top = store.list_objects("data", delimiter="/")
    assert [o.key for o in top.objects] == ["b"]
    assert top.common_prefixes == ["a/", "c/"]
    first = store.list_objects("data", prefix="a/", delimiter="/", max_keys=2)
    assert ([o.key for o in first.objects], first.common_prefixes, first.is_truncated) == (
        ["a/1", "a/2"],
        [],
        True,
    )
    rest = store.list_objects("data", prefix="a/", delimiter="/", after=first.last or "")
    assert ([o.key for o in rest.objects], rest.common_prefixes, rest.is_truncated) == ([], ["a/b/"], False)


_keys = st.lists(
    st.text(alphabet="ab/.é", min_size=1, max_size=6).filter(
        lambda k: not k.startswith("/") and all(s not in (".", "..") for s in k.split("/"))
    ),
    unique=True,
    max_size=25,
)
_counter = iter(range(1_000_000))


def expected_listing(keys: list[str], prefix: str, delimiter: str) -> list[str]:
    """Brute force: every key under the prefix, rolled up at the delimiter, in UTF-8 byte order."""
    entries: set[str] = set()
    for key in keys:
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entries.add(key if cut < 0 else key[: cut + len(delimiter)])
    return sorted(entries, key=lambda e: e.encode())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=_keys,
    prefix=st.sampled_from(["", "a", "a/", "b/a"]),
    delimiter=st.sampled_from(["", "/", "a"]),
    page=st.integers(1, 4),
)
def test_paging_matches_a_brute_force_listing(
    store: ObjectStore, keys: list[str], prefix: str, delimiter: str, page: int
) -> None:
    bucket = f"list-{next(_counter)}"
    store.create_bucket(bucket, owner=OWNER)
    for key in keys:
        store.put_object(bucket, key, b"")
    listed: list[str] = []
    after = ""
    while True:
        result = store.list_objects(bucket, prefix=prefix, delimiter=delimiter, after=after, max_keys=page)
        entries = [o.key for o in result.objects] + result.common_prefixes
        assert len(entries) <= page
        listed += sorted(entries, key=lambda e: e.encode())
        if not result.is_truncated:
            break
        after = result.last or ""
    assert listed == expected_listing(keys, prefix, delimiter)


# -- tar -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_pack_dir_stores_relative_entries(tmp_path: Path, compress: bool) -> None:
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "weights.npy").write_bytes(b"w" * 1000)
    (model / "sub" / "config.json").write_text("{}")
    tarball = tmp_path / "model.tar.gz"
    pack_dir(model, tarball, compress)
    with tarfile.open(tarball, "r:gz" if compress else "r:") as archive:
        assert sorted(archive.getnames()) == ["sub", "sub/config.json", "weights.npy"]
        extracted = archive.extractfile("weights.npy")
        assert extracted is not None and extracted.read() == b"w" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "model.tar.gz"]


def test_pack_dir_refuses_to_pack_into_itself(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside"):
        pack_dir(tmp_path, tmp_path / "model.tar.gz", True)
