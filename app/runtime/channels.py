"""Input channels: each `InputDataConfig` entry lands in `input/data/<channel>/` of every VM.

`s3://` URIs are read from the service's object store; `file://` paths (a local extension) are copied.
`ShardedByS3Key` gives instance i of n every n-th object in key order, as SageMaker does.
"""

from __future__ import annotations

import json
import posixpath
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from app.jobs.spec import ChannelSpec, S3Source
from app.runtime import bucket_access
from app.runtime.bucket_access import BucketAccess
from app.storage import errors as storage_errors
from app.storage import uris
from app.storage.object_store import ObjectStore


class ChannelError(Exception):
    """The job's input cannot be had; the message becomes a `ClientError:` failure reason."""


@dataclass(frozen=True, slots=True)
class Fetch:
    """One object of a channel and where it lands, relative to the VM's `input/data/`."""

    bucket: str  # `file://` for a local file, whose path is then `key`
    key: str
    target: str  # `<channel>/<relative path>`


def fetch_all(
    channels: Sequence[ChannelSpec],
    *,
    store: ObjectStore,
    access: BucketAccess,
    data_dir: Path,
    host_index: int,
    host_count: int,
) -> None:
    """Download every channel; each object's bucket must be the job's account's (a manifest may name any)."""
    fetches = plan(channels, store=store, access=access, host_index=host_index, host_count=host_count)
    for channel in channels:
        (data_dir / channel.name).mkdir(parents=True, exist_ok=True)
    for fetch in fetches:
        target = data_dir / fetch.target
        target.parent.mkdir(parents=True, exist_ok=True)
        if fetch.bucket == "file://":
            shutil.copyfile(fetch.key, target)
        else:
            store.get_file(fetch.bucket, fetch.key, target)


def plan(
    channels: Sequence[ChannelSpec],
    *,
    store: ObjectStore,
    access: BucketAccess,
    host_index: int,
    host_count: int,
) -> list[Fetch]:
    """Every object this VM's channels hold, its bucket checked to be the job's account's; what a VM on
    another machine downloads itself."""
    fetches = []
    for channel in channels:
        source = channel.s3
        if source is None:
            raise ChannelError(f"Channel {channel.name}: only S3DataSource is supported")
        objects = list(_objects(store, source))
        if source.distribution == "ShardedByS3Key":
            objects = objects[host_index::host_count]
        for (bucket, key), relative in objects:
            if not stays_inside(relative):
                raise ChannelError(f"Object {relative!r} would land outside its channel directory")
            if bucket != "file://":
                access.require(bucket, operation=bucket_access.READ)
            fetches.append(Fetch(bucket=bucket, key=key, target=f"{channel.name}/{relative}"))
    return fetches


def stays_inside(relative: str) -> bool:
    """True when the path, resolved under any directory, stays inside it (no `..` out, not absolute)."""
    return posixpath.normpath(posixpath.join("/channel", relative)).startswith("/channel/")


def _objects(store: ObjectStore, source: S3Source) -> Iterator[tuple[tuple[str, str], str]]:
    """(location, path relative to the channel dir) for every object the data source names."""
    uri = source.uri
    if uri.startswith("file://"):
        yield from _local(Path(unquote(urlparse(uri).path)), uri)
        return
    parsed = _parse(uri)
    if source.data_type == "ManifestFile":
        yield from _manifest(store, parsed)
        return
    if source.data_type != "S3Prefix":
        raise ChannelError(f"S3DataType {source.data_type} is not supported; use S3Prefix or ManifestFile")
    found = False
    for key in keys_under(store, parsed.bucket, parsed.key):
        found = True
        yield (parsed.bucket, key), relative_path(prefix=parsed.key, key=key)
    if not found:
        raise ChannelError(
            f'No S3 objects found under S3 URL "{uri}" given in input data source. '
            "Please ensure that the bucket exists and that objects exist under that S3 prefix."
        )


def relative_path(*, prefix: str, key: str) -> str:
    """Where an object under an S3Prefix lands in its channel directory. A prefix that names a folder,
    with or without its trailing slash, is that folder: `s3://b/job/code` holding `job/code/train.py`
    gives `train.py` (the SDK v3 uploads its driver and source folders so and runs them from the channel
    root). Any other match keeps its name from the prefix's last slash (`data/tr` + `data/train.csv` →
    `train.csv`; an object named exactly by the prefix → its base name)."""
    if key.startswith(prefix.rstrip("/") + "/"):
        return key[len(prefix.rstrip("/")) + 1 :]
    base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return key[len(base) :]


def keys_under(store: ObjectStore, bucket: str, prefix: str) -> Iterator[str]:
    """Every key under `prefix`, in key order; none when the bucket does not exist."""
    after = ""
    while True:
        try:
            page = store.list_objects(bucket, prefix=prefix, after=after)
        except storage_errors.NoSuchBucket:
            return
        for info in page.objects:
            if not info.key.endswith("/"):
                yield info.key
        if not page.is_truncated or page.last is None:
            return
        after = page.last


def _manifest(store: ObjectStore, manifest: uris.S3Uri) -> Iterator[tuple[tuple[str, str], str]]:
    """A manifest is `[{"prefix": "s3://b/p/"}, "rel/key1", ...]`; each entry lands at its relative path."""
    try:
        entries = json.loads(store.read_object(manifest.bucket, manifest.key))
        prefix = _parse(entries[0]["prefix"])
    except storage_errors.StorageError as error:
        raise ChannelError(f"Cannot read manifest {manifest}: {error}") from error
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise ChannelError(f"Manifest {manifest} is not a SageMaker manifest file: {error}") from error
    for relative in entries[1:]:
        yield (prefix.bucket, prefix.key + str(relative)), str(relative)


def _local(root: Path, uri: str) -> Iterator[tuple[tuple[str, str], str]]:
    if root.is_file():
        yield ("file://", str(root)), root.name
        return
    if not root.is_dir():
        raise ChannelError(f'No files found under "{uri}" given in input data source.')
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield ("file://", str(path)), str(path.relative_to(root))


def _parse(uri: str) -> uris.S3Uri:
    try:
        return uris.parse_s3_uri(uri)
    except uris.UriError as error:
        raise ChannelError(f"Invalid S3 URI {uri!r}: {error}") from error
