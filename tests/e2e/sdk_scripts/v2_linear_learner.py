"""SDK v2: linear-learner by `image_uris.retrieve`, `fit(inputs)` with its default logs, then
`Estimator.attach(name).logs()`."""

from __future__ import annotations

import sys

import sagemaker
from common import BUCKET, REGION, ROLE, upload_dataset
from sagemaker import image_uris
from sagemaker.estimator import Estimator

session = sagemaker.Session(default_bucket=BUCKET)
image = image_uris.retrieve("linear-learner", REGION)
estimator = Estimator(
    image_uri=image,
    role=ROLE,
    instance_count=1,
    instance_type="ml.m5.large",
    output_path=f"s3://{BUCKET}/output",
    sagemaker_session=session,
    hyperparameters={"predictor_type": "binary_classifier", "feature_dim": "5", "epochs": "5"},
)
estimator.fit({"train": sagemaker.inputs.TrainingInput(upload_dataset(), content_type="text/csv")})
name = estimator.latest_training_job.name
print("JOB", name)
print("ATTACH-LOGS-BEGIN")
sys.stdout.flush()
Estimator.attach(name, sagemaker_session=session).logs()
print("ATTACH-LOGS-END")
