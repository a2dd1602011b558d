"""CheckpointConfig: `S3Uri` is copied into the VM's `checkpoints/` before training and back after it,
so a retried or re-submitted job resumes from what the last run saved.

SageMaker also syncs while the job runs; here the copy back happens once, when the VMs have ended
(also after a failure, a stop or the deadline). `LocalPath` always maps to the VM's `checkpoints/`.
"""

from __future__ import annotations

from pathlib import Path

from app.jobs.spec import CheckpointSpec
from app.runtime import artifacts
from app.runtime.channels import ChannelError, Fetch, keys_under, stays_inside
from app.storage import uris
from app.storage.object_store import ObjectStore


def restore(config: CheckpointSpec | None, *, store: ObjectStore, local: Path) -> None:
    for fetch in plan(config, store=store):
        target = (local / fetch.target).resolve()
        if not target.is_relative_to(local.resolve()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        store.get_file(fetch.bucket, fetch.key, target)


def plan(config: CheckpointSpec | None, *, store: ObjectStore) -> list[Fetch]:
    """The saved checkpoints, each with its path under `checkpoints/`: what `restore` copies, and what a
    VM on another machine downloads itself."""
    if config is None:
        return []
    base = _base(config)
    found = (
        Fetch(bucket=base.bucket, key=key, target=key[len(base.key) :])
        for key in keys_under(store, base.bucket, base.key)
    )
    return [
        fetch for fetch in found if stays_inside(fetch.target)
    ]  # a key with `..` is no checkpoint of ours


def save(config: CheckpointSpec | None, *, store: ObjectStore, local: Path, owner: str) -> None:
    if config is None or not local.is_dir():
        return
    base = _base(config)
    store.create_bucket(base.bucket, owner=owner)
    for path in artifacts.regular_files(local):
        store.put_file(base.bucket, base.key + str(path.relative_to(local)), path)


def _base(config: CheckpointSpec) -> uris.S3Uri:
    try:
        parsed = uris.parse_s3_uri(config.s3_uri.rstrip("/") + "/")
    except uris.UriError as error:
        raise ChannelError(f"CheckpointConfig.S3Uri is not a usable s3:// URI: {error}") from error
    return parsed
