"""CheckpointConfig: `S3Uri` is copied into the VM's `checkpoints/` before training and back after it,
so a retried or re-submitted job resumes from what the last run saved.

SageMaker also syncs while the job runs; here the copy back happens once, when the VMs have ended
(also after a failure, a stop or the deadline). `LocalPath` always maps to the VM's `checkpoints/`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from app.runtime.channels import ChannelError, keys_under
from app.storage import errors as storage_errors
from app.storage import uris
from app.storage.object_store import ObjectStore


def restore(config: dict[str, Any] | None, *, store: ObjectStore, local: Path) -> None:
    if not config:
        return
    base = _base(config)
    for key in keys_under(store, base.bucket, base.key):
        target = (local / key[len(base.key) :]).resolve()
        if not target.is_relative_to(local.resolve()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        store.get_file(base.bucket, key, target)


def save(config: dict[str, Any] | None, *, store: ObjectStore, local: Path) -> None:
    if not config or not local.is_dir():
        return
    base = _base(config)
    with contextlib.suppress(storage_errors.BucketAlreadyOwnedByYou):
        store.create_bucket(base.bucket)
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        store.put_file(base.bucket, base.key + str(path.relative_to(local)), path)


def _base(config: dict[str, Any]) -> uris.S3Uri:
    try:
        parsed = uris.parse_s3_uri(config["S3Uri"].rstrip("/") + "/")
    except uris.UriError as error:
        raise ChannelError(f"CheckpointConfig.S3Uri is not a usable s3:// URI: {error}") from error
    return parsed
