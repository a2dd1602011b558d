"""Packaging what a job leaves behind: `model.tar.gz` and `output.tar.gz` at SageMaker's paths."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.storage import checksums, tar, uris
from app.storage import errors as storage_errors
from app.storage.object_store import ObjectStore


@dataclass(frozen=True, slots=True)
class Uploaded:
    model_uri: str


def upload(
    *,
    store: ObjectStore,
    output_path: str,
    job_name: str,
    model_dirs: Sequence[Path],
    output_dirs: Sequence[Path],
    compress: bool,
) -> Uploaded:
    """Merge the VMs' model and output directories and upload them under `<output_path>/<job>/output/`.

    With `CompressionType: NONE` the model is uploaded file by file under `output/model/`, as SageMaker does.
    """
    base = uris.parse_s3_uri(output_path.rstrip("/") + "/" + job_name + "/output/")
    with contextlib.suppress(storage_errors.BucketAlreadyOwnedByYou):
        store.create_bucket(base.bucket)
    with tempfile.TemporaryDirectory(prefix="sagelite-pack-") as scratch:
        model = _merge(model_dirs, Path(scratch) / "model")
        output = _merge(output_dirs, Path(scratch) / "output")
        if compress:
            model_key = base.key + "model.tar.gz"
            _put_tarball(store, base.bucket, model_key, model, Path(scratch) / "model.tar.gz")
        else:
            model_key = base.key + "model/"
            for path in sorted(p for p in model.rglob("*") if p.is_file()):
                store.put_file(base.bucket, model_key + str(path.relative_to(model)), path)
        _put_tarball(store, base.bucket, base.key + "output.tar.gz", output, Path(scratch) / "output.tar.gz")
    return Uploaded(model_uri=f"s3://{base.bucket}/{model_key}")


def _merge(sources: Sequence[Path], dest: Path) -> Path:
    """One directory holding every source's files; on a name clash the first VM (algo-1) wins."""
    dest.mkdir(parents=True)
    for source in reversed(sources):
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True, symlinks=True)
    return dest


def _put_tarball(store: ObjectStore, bucket: str, key: str, src: Path, tarball: Path) -> None:
    tar.pack_dir(src, tarball, compress=True)
    checksums.put_file_with_sha256(store, bucket, key, tarball)
