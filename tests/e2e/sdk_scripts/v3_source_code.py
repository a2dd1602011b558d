"""SDK v3 script mode: `ModelTrainer(source_code=SourceCode(source_dir=..., entry_script=...))` runs
v3_entry/train.py through the driver the SDK generates (a shell script that hard-codes /opt/ml paths),
then `train()` with its defaults. Prints the job's status, secondary status and model URI.

Usage: v3_source_code.py <job name prefix> <sleep seconds> [<max runtime seconds>]"""

from __future__ import annotations

import logging
import os
import sys

from common import BUCKET, ROLE, SCRIPT_IMAGE, upload_dataset
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.training.configs import (
    Compute,
    InputData,
    OutputDataConfig,
    SourceCode,
    StoppingCondition,
)
from sagemaker.train import ModelTrainer

# v3 logs through `logging` and leaves its configuration to the application (rich output is opt-in):
# the job's log lines and its final status are INFO records.
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")

prefix, sleep_seconds, *max_runtime = sys.argv[1:]
trainer = ModelTrainer(
    training_image=SCRIPT_IMAGE,
    role=ROLE,
    base_job_name=prefix,
    sagemaker_session=Session(default_bucket=BUCKET),
    source_code=SourceCode(
        source_dir=os.path.join(os.path.dirname(__file__), "v3_entry"), entry_script="train.py"
    ),
    compute=Compute(instance_type="ml.m5.large", instance_count=1, volume_size_in_gb=1),
    hyperparameters={"epochs": 3, "greeting": "hello v3", "sleep-seconds": float(sleep_seconds)},
    input_data_config=[InputData(channel_name="train", data_source=upload_dataset())],
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{BUCKET}/output"),
    **(
        {"stopping_condition": StoppingCondition(max_runtime_in_seconds=int(max_runtime[0]))}
        if max_runtime
        else {}
    ),
)
trainer.train()
job = trainer._latest_training_job
job.refresh()
print("JOB", job.training_job_name, job.training_job_status, job.secondary_status, flush=True)
print("MODEL", job.model_artifacts.s3_model_artifacts, flush=True)
