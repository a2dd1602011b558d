"""What every SDK script shares: the session over the server the test started (endpoints come from the
AWS_ENDPOINT_URL_* variables the test sets), a role of the default account, and a small CSV dataset.

Runs in an SDK virtual environment (.venv-sdk2 or .venv-sdk3), never in the project's."""

from __future__ import annotations

import contextlib
import os
import random

import boto3

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/service-role/SageMakerRole"
SCRIPT_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training:latest"
BUCKET = os.environ["SDK_TEST_BUCKET"]


def ensure_bucket() -> object:
    """The S3 client, once BUCKET exists: the SDK given `default_bucket` does not create it."""
    s3 = boto3.client("s3", region_name=REGION)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET)
    return s3


def upload_dataset(prefix: str = "train") -> str:
    """A linearly separable CSV (label first) under s3://BUCKET/<prefix>/; returns that prefix's URI."""
    rng = random.Random(7)
    lines = []
    for _ in range(400):
        x = [rng.gauss(0, 1) for _ in range(5)]
        label = 1.0 if x[0] + 0.5 * x[1] - x[2] > 0 else 0.0
        lines.append(",".join(f"{v:.5f}" for v in [label, *x]))
    s3 = ensure_bucket()
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train.csv", Body="\n".join(lines).encode())
    return f"s3://{BUCKET}/{prefix}/"
