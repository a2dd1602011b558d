"""Script mode's code: `sagemaker_submit_directory` unpacked into the VM's `code/` before it starts.

The SageMaker SDK uploads `sourcedir.tar.gz` to S3 and passes its URI (JSON-encoded, like every
hyperparameter it sets). A `file://` directory or tarball is accepted too, as a local extension.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from app.runtime import workspace
from app.runtime.channels import ChannelError
from app.storage import errors as storage_errors
from app.storage import uris
from app.storage.object_store import ObjectStore


def submit_directory(hyperparameters: Mapping[str, str]) -> str:
    """Where the job's code is (`sagemaker_submit_directory`, JSON-encoded by the SDK); "" for none."""
    return _decoded(hyperparameters.get("sagemaker_submit_directory"))


def fetch_code(
    hyperparameters: Mapping[str, str], *, store: ObjectStore, code_dir: Path, scratch_dir: Path
) -> None:
    source = submit_directory(hyperparameters)
    if not source:
        return
    code_dir.mkdir(parents=True, exist_ok=True)
    if source.startswith("file://"):
        path = Path(unquote(urlparse(source).path))
        if path.is_dir():
            shutil.copytree(path, code_dir, dirs_exist_ok=True)
        elif path.is_file():
            _unpack(path, code_dir, source)
        else:
            raise ChannelError(f"sagemaker_submit_directory {source!r} does not exist")
        return
    try:
        location = uris.parse_s3_uri(source)
        with workspace.scratch(scratch_dir, prefix="src-") as scratch:
            tarball = scratch / "sourcedir.tar.gz"
            store.get_file(location.bucket, location.key, tarball)
            _unpack(tarball, code_dir, source)
    except (uris.UriError, storage_errors.StorageError) as error:
        raise ChannelError(f"cannot fetch sagemaker_submit_directory {source!r}: {error}") from error


def _unpack(tarball: Path, dest: Path, source: str) -> None:
    try:
        with tarfile.open(tarball) as archive:
            # The "data" filter refuses absolute paths, `..`, links out of `dest` and device files.
            archive.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise ChannelError(
            f"sagemaker_submit_directory {source!r} is not a readable tarball: {error}"
        ) from error


def _decoded(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value
