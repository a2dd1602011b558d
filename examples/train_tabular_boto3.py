"""The tabular example with the real boto3: `s3` for the data and the model, `sagemaker` for the job.

    make run                                          # terminal 1
    .venv/bin/python examples/train_tabular_boto3.py  # terminal 2

sagelite serves S3 (path-style) and the SageMaker API on one port; any credentials will do.
"""

from __future__ import annotations

import sys
import tarfile
import time
import uuid

import boto3
import tabular_model
from botocore.config import Config
from botocore.exceptions import ClientError
from train_tabular import show_progress, training_job

TERMINAL = ("Completed", "Failed", "Stopped")


def main() -> int:
    args, workdir = tabular_model.arguments(__doc__)
    name = f"tabular-boto3-{uuid.uuid4().hex[:8]}"
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=args.endpoint_url, config=Config(s3={"addressing_style": "path"}))
    sagemaker = session.client("sagemaker", endpoint_url=args.endpoint_url)

    x, y = tabular_model.make_dataset()
    split = int(0.8 * len(y))
    csv = tabular_model.write_csv(workdir / "train.csv", x[:split], y[:split])
    try:
        s3.create_bucket(Bucket=args.bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    s3.upload_file(str(csv), args.bucket, f"{name}/train/train.csv")

    job_request = training_job(name, f"s3://{args.bucket}/{name}/train/", f"s3://{args.bucket}/output")
    print("created", sagemaker.create_training_job(**job_request)["TrainingJobArn"])
    # boto3's waiter (`training_job_completed_or_stopped`) has no progress hook, so poll as it would.
    while (job := sagemaker.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] not in TERMINAL:
        show_progress(job)
        time.sleep(1.0)
    show_progress(job)
    if job["TrainingJobStatus"] != "Completed":
        print(f"{name} ended {job['TrainingJobStatus']}: {job.get('FailureReason', '')}", file=sys.stderr)
        return 1

    model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]  # s3://bucket/output/<name>/output/model.tar.gz
    bucket, _, key = model_uri.removeprefix("s3://").partition("/")
    archive = workdir / "model.tar.gz"
    s3.download_file(bucket, key, str(archive))
    model_dir = workdir / "model"
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir, filter="data")  # refuses absolute paths, `..` and links out of model_dir

    predicted = tabular_model.predict(model_dir, x[split:])
    print(f"model unpacked in {model_dir}")
    print(f"held-out accuracy: {tabular_model.accuracy(predicted, y[split:]):.3f} on {len(predicted)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
