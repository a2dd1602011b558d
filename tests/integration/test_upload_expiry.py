"""Incomplete multipart uploads expire after the configured age, as under an S3 lifecycle rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import FakeClock, utcnow
from app.storage import errors
from app.storage.object_store import ObjectStore
from app.storage.upload_expiry import UploadExpiry
from tests.support.keys import TEST_KEYRING
from tests.support.polling import wait_until

OWNER = "123456789012"
SEVEN_DAYS = dt.timedelta(days=7)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ObjectStore]:
    with ObjectStore(tmp_path / "store", keyring=TEST_KEYRING, min_part_size=1024) as opened:
        opened.create_bucket("data", owner=OWNER)
        yield opened


def part_files(store: ObjectStore, tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "store" / "blobs").rglob("*") if p.is_file()]


def started_upload(store: ObjectStore, key: str) -> str:
    upload = store.uploads.create("data", key)
    store.uploads.upload_part("data", key, upload.upload_id, 1, b"x" * 2048)
    return upload.upload_id


def expiry(store: ObjectStore, clock: FakeClock) -> UploadExpiry:
    return UploadExpiry(uploads=store.uploads, clock=clock, max_age=SEVEN_DAYS)


def test_uploads_older_than_the_age_are_aborted_with_their_parts(store: ObjectStore, tmp_path: Path) -> None:
    upload_id = started_upload(store, "big.bin")
    clock = FakeClock(utcnow() + dt.timedelta(days=6))
    sweeper = expiry(store, clock)
    assert sweeper.sweep() == 0  # six days old: kept
    assert [u.upload_id for u in store.uploads.list_uploads("data")] == [upload_id]

    clock.advance(dt.timedelta(days=1, minutes=1).total_seconds())
    assert sweeper.sweep() == 1
    assert store.uploads.list_uploads("data") == []
    assert part_files(store, tmp_path) == []
    with pytest.raises(errors.NoSuchUpload):
        store.uploads.complete("data", "big.bin", upload_id, [(1, "etag")])


def test_a_sweep_takes_every_old_upload_batch_after_batch(store: ObjectStore) -> None:
    for index in range(5):
        started_upload(store, f"old-{index}")
    later = utcnow() + SEVEN_DAYS
    assert store.uploads.expire(initiated_before_ms=int(later.timestamp() * 1000), batch=2) == 5
    assert store.uploads.list_uploads("data") == []


def test_the_server_sweeps_at_start_up(store: ObjectStore) -> None:
    started_upload(store, "stale")
    sweeper = expiry(store, FakeClock(utcnow() + SEVEN_DAYS + dt.timedelta(days=1)))
    sweeper.start()
    try:
        wait_until(lambda: store.uploads.list_uploads("data"), until=lambda left: left == [], what="expiry")
    finally:
        sweeper.close()
