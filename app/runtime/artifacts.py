"""Packaging what a job leaves behind: `model.tar.gz` and `output.tar.gz` at SageMaker's paths."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.runtime import workspace
from app.storage import artifact_layout, checksums, tar, uris
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
    owner: str,
    scratch_dir: Path,
) -> Uploaded:
    """Merge the VMs' model and output directories and upload them where `artifact_layout` says.

    With `CompressionType: NONE` the model is uploaded file by file under `output/model/`, as SageMaker does.
    A missing output bucket is created for `owner`, the job's account. Packing happens in `scratch_dir`
    (under the data directory, where recovery removes what a crash left).
    """
    model_uri = artifact_layout.model_artifacts(output_path, job_name, compressed=compress)
    output_uri = artifact_layout.output_tarball(output_path, job_name)
    store.create_bucket(model_uri.bucket, owner=owner)
    with workspace.scratch(scratch_dir, prefix="pack-") as scratch:
        model = _merge(model_dirs, scratch / "model")
        output = _merge(output_dirs, scratch / "output")
        if compress:
            _put_tarball(store, model_uri, model, scratch / artifact_layout.MODEL_TARBALL)
        else:
            for path in regular_files(model):
                store.put_file(model_uri.bucket, model_uri.key + str(path.relative_to(model)), path)
        _put_tarball(store, output_uri, output, scratch / artifact_layout.OUTPUT_TARBALL)
    return Uploaded(model_uri=str(model_uri))


def regular_files(root: Path) -> list[Path]:
    """The regular files under `root`, sorted; never what a symbolic link points at: a VM may link to
    any path, and the server, which reads these, sees the host's."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _merge(sources: Sequence[Path], dest: Path) -> Path:
    """One directory holding every source's files; on a name clash the first VM (algo-1) wins."""
    dest.mkdir(parents=True)
    for source in reversed(sources):
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True, symlinks=True)
    return dest


def _put_tarball(store: ObjectStore, uri: uris.S3Uri, src: Path, tarball: Path) -> None:
    tar.pack_dir(src, tarball, compress=True)
    checksums.put_file_with_sha256(store, uri.bucket, uri.key, tarball)
