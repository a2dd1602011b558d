"""SDK v3: `ModelTrainer(training_image=<linear-learner>, compute=Compute(...))` with a role given by name
(the SDK asks IAM `GetRole` for its ARN and `SimulatePrincipalPolicy` whether it may write the bucket),
then `train()` with its defaults: wait, and tail the job's CloudWatch log streams."""

from __future__ import annotations

import logging

from common import BUCKET, REGION, upload_dataset
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.train import ModelTrainer

# v3 logs through `logging` and leaves its configuration to the application (rich output is opt-in):
# the job's log lines and its final status are INFO records.
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")

trainer = ModelTrainer(
    training_image=image_uris.retrieve("linear-learner", REGION),
    role="SageMakerRole",
    base_job_name="sdk3-linear-learner",
    sagemaker_session=Session(default_bucket=BUCKET),
    compute=Compute(instance_type="ml.m5.large", instance_count=1, volume_size_in_gb=1),
    hyperparameters={"predictor_type": "binary_classifier", "feature_dim": 5, "epochs": 5},
    input_data_config=[InputData(channel_name="train", data_source=upload_dataset())],
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{BUCKET}/output"),
)
print("ROLE", trainer.role, flush=True)
trainer.train()
job = trainer._latest_training_job
print("JOB", job.training_job_name, job.training_job_status, flush=True)
