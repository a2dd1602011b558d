"""Script-mode jobs for e2e tests: a `train.py` in a source folder, submitted as the SageMaker SDK does."""

from __future__ import annotations

import json
import tarfile
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import create_request
from tests.support.jobs import fetch_object
from tests.support.server import Server

SCRIPT_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training:latest"


def source(tmp_path: Path, name: str, body: str) -> Path:
    """A source folder holding `train.py` with `body`."""
    folder = tmp_path / f"src-{name}"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(body))
    return folder


def script_job(
    name: str, code: Path, *, resources: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A CreateTrainingJob request running `code/train.py`, without input channels."""
    return create_request(
        name,
        AlgorithmSpecification={"TrainingImage": SCRIPT_IMAGE, "TrainingInputMode": "File"},
        HyperParameters={
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps(f"file://{code}"),
        },
        ResourceConfig=resources or {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        **extra,
    )


def model_json(server: Server, job: dict[str, Any], name: str, tmp_path: Path) -> Any:
    """A JSON file the job wrote into its model directory, read from model.tar.gz."""
    tarball = fetch_object(server, job["ModelArtifacts"]["S3ModelArtifacts"], tmp_path / f"{name}.tar.gz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(name)
        assert member is not None, f"{name} is not in the model"
        return json.load(member)
