"""SageMaker's artifact paths: `<S3OutputPath>/<TrainingJobName>/output/model.tar.gz` and its neighbours."""

from __future__ import annotations

import pytest

from app.storage import artifact_layout, uris


@pytest.mark.parametrize("output_path", ["s3://bucket/out", "s3://bucket/out/", "s3://bucket/out//"])
def test_artifacts_sit_under_the_jobs_output_prefix(output_path: str) -> None:
    model = artifact_layout.model_artifacts(output_path, "job-1", compressed=True)
    assert str(model) == "s3://bucket/out/job-1/output/model.tar.gz"
    output = artifact_layout.output_tarball(output_path, "job-1")
    assert str(output) == "s3://bucket/out/job-1/output/output.tar.gz"


def test_an_uncompressed_model_is_a_prefix() -> None:
    model = artifact_layout.model_artifacts("s3://bucket/out", "job-1", compressed=False)
    assert (model.bucket, model.key) == ("bucket", "out/job-1/output/model/")


def test_an_output_path_naming_only_a_bucket() -> None:
    assert (
        str(artifact_layout.output_tarball("s3://bucket", "job-1"))
        == "s3://bucket/job-1/output/output.tar.gz"
    )


def test_an_invalid_output_path_is_refused() -> None:
    with pytest.raises(uris.InvalidS3Uri):
        artifact_layout.output_tarball("https://bucket/out", "job-1")
