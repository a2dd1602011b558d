"""Where a training job's artifacts live: SageMaker's layout under `<S3OutputPath>/<TrainingJobName>/output/`.

    model.tar.gz   the model directory, packed (CompressionType GZIP, the default)
    model/         the model's files, one object each (CompressionType NONE)
    output.tar.gz  what the job wrote to /opt/ml/output/data, packed

The runtime uploads there and the REST download routes read from there. Pure, like `uris`.
"""

from __future__ import annotations

from app.storage import uris

MODEL_TARBALL = "model.tar.gz"
OUTPUT_TARBALL = "output.tar.gz"


def model_artifacts(output_path: str, job_name: str, *, compressed: bool) -> uris.S3Uri:
    """What `ModelArtifacts.S3ModelArtifacts` names: `model.tar.gz`, or the `model/` prefix (ending in `/`)
    under which an uncompressed model's files are uploaded one by one."""
    return _artifact(output_path, job_name, MODEL_TARBALL if compressed else "model/")


def output_tarball(output_path: str, job_name: str) -> uris.S3Uri:
    return _artifact(output_path, job_name, OUTPUT_TARBALL)


def _artifact(output_path: str, job_name: str, name: str) -> uris.S3Uri:
    return uris.join(output_path, job_name, "output", name)
