"""Train a tabular binary classifier on sagelite with its Python client, then predict with numpy.

    make run                                    # terminal 1: the server on http://127.0.0.1:8000
    .venv/bin/python examples/train_tabular.py  # terminal 2

Writes a CSV dataset (label first, no header), uploads it, trains the built-in `mlp` (Dense 64 → 32 → 1
sigmoid, Adam, binary cross-entropy) on an ml.c5.xlarge, waits with a progress line, downloads and unpacks
model.tar.gz, and measures the accuracy on rows the job never saw.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from typing import Any

import tabular_model

from app.client import SageMakerClient

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
HYPERPARAMETERS = {
    "hidden_layers": "64,32",
    "epochs": "20",
    "mini_batch_size": "64",
    "learning_rate": "0.001",
    "seed": "0",
}


def training_job(name: str, train_uri: str, output_uri: str) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": "mlp", "TrainingInputMode": "File"},
        "HyperParameters": HYPERPARAMETERS,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train_uri}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": output_uri},
        "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 100},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def show_progress(job: dict[str, Any]) -> None:
    elapsed = dt.datetime.now(dt.UTC) - job["CreationTime"]
    metrics = " ".join(f"{m['MetricName']}={m['Value']:.4g}" for m in job.get("FinalMetricDataList", []))
    line = f"{job['TrainingJobStatus']}/{job['SecondaryStatus']}  {elapsed.total_seconds():5.1f}s  {metrics}"
    end = "\r" if sys.stdout.isatty() and job["TrainingJobStatus"] == "InProgress" else "\n"
    print(line.rstrip(), end=end, flush=True)


def main() -> int:
    args, workdir = tabular_model.arguments(__doc__)
    name = f"tabular-mlp-{uuid.uuid4().hex[:8]}"

    x, y = tabular_model.make_dataset()
    split = int(0.8 * len(y))
    csv = tabular_model.write_csv(workdir / "train.csv", x[:split], y[:split])

    with SageMakerClient(
        endpoint_url=args.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as sagemaker:
        uploaded = sagemaker.upload_file(csv, f"s3://{args.bucket}/{name}/train/train.csv")
        print(f"uploaded {uploaded['size']} bytes to s3://{uploaded['bucket']}/{uploaded['key']}")
        job_request = training_job(name, f"s3://{args.bucket}/{name}/train/", f"s3://{args.bucket}/output")
        print("created", sagemaker.create_training_job(**job_request)["TrainingJobArn"])
        job = sagemaker.wait(name, on_progress=show_progress, poll_interval=1.0)
        if job["TrainingJobStatus"] != "Completed":
            print(f"{name} ended {job['TrainingJobStatus']}: {job.get('FailureReason', '')}", file=sys.stderr)
            return 1
        model_dir = sagemaker.download_training_job_artifact(
            TrainingJobName=name, destination=workdir / "model", unpack=True
        )

    predicted = tabular_model.predict(model_dir, x[split:])
    print(f"model unpacked in {model_dir}")
    print(f"held-out accuracy: {tabular_model.accuracy(predicted, y[split:]):.3f} on {len(predicted)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
