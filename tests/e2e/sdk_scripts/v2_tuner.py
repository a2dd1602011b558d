"""SDK v2: `HyperparameterTuner` over linear-learner by `image_uris.retrieve`: `fit()`, `wait()`,
`best_training_job()`, `analytics().dataframe()` (printed a row per line as JSON), `attach()`; then a
second, larger search that `stop_tuning_job()` ends while it runs.

Usage: v2_tuner.py <max jobs> <max parallel jobs>"""

from __future__ import annotations

import json
import sys

import sagemaker
from common import BUCKET, REGION, ROLE, upload_dataset
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

max_jobs, max_parallel = (int(arg) for arg in sys.argv[1:3])
session = sagemaker.Session(default_bucket=BUCKET)
estimator = Estimator(
    image_uri=image_uris.retrieve("linear-learner", REGION),
    role=ROLE,
    instance_count=1,
    instance_type="ml.m5.large",
    volume_size=1,
    output_path=f"s3://{BUCKET}/output",
    sagemaker_session=session,
    hyperparameters={"predictor_type": "binary_classifier", "feature_dim": "5", "epochs": "3"},
)
inputs = {
    channel: sagemaker.inputs.TrainingInput(upload_dataset(channel), content_type="text/csv")
    for channel in ("train", "validation")
}


def tuner_of(jobs: int) -> HyperparameterTuner:
    return HyperparameterTuner(
        estimator,
        objective_metric_name="validation:binary_classification_accuracy",
        hyperparameter_ranges={
            "learning_rate": ContinuousParameter(0.001, 0.5, scaling_type="Logarithmic"),
            "mini_batch_size": IntegerParameter(10, 200),
        },
        max_jobs=jobs,
        max_parallel_jobs=max_parallel,
        strategy="Bayesian",
        random_seed=5,
    )


tuner = tuner_of(max_jobs)
tuner.fit(inputs)  # waits for the end
tuner.wait()  # returns at once: the job has ended
name = tuner.latest_tuning_job.name
print("TUNING", name)
print("BEST", tuner.best_training_job())
for row in tuner.analytics().dataframe().to_dict("records"):
    print("ROW " + json.dumps(row, default=str))
attached = HyperparameterTuner.attach(name, sagemaker_session=session)
print("ATTACHED-BEST", attached.best_training_job())
print("ATTACHED-OBJECTIVE", attached.objective_metric_name, attached.max_jobs, attached.max_parallel_jobs)

stopped = tuner_of(4 * max_jobs)
# The SDK names a tuning job by the minute (`<base>-YYMMDD-HHMM`): the second one needs its own name.
stopped.fit(inputs, job_name=f"{name[:24]}-stop", wait=False)  # fit() waits for the end by default
stopped.stop_tuning_job()
stopped.wait()
described = session.sagemaker_client.describe_hyper_parameter_tuning_job(
    HyperParameterTuningJobName=stopped.latest_tuning_job.name
)
print("STOPPED-STATUS", described["HyperParameterTuningJobStatus"])
print("STOPPED-LAUNCHED", sum(described["TrainingJobStatusCounters"].values()))
