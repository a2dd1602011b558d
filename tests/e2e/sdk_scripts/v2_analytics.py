"""`TrainingJobAnalytics(job, metric_names).dataframe()` of SDK v2, unchanged, over a finished job: prints
each row as JSON (`metric_name`, `value`), so the test compares them with what the job printed.

Usage: v2_analytics.py <job name> <metric name>..."""

from __future__ import annotations

import json
import sys

import sagemaker
from sagemaker.analytics import TrainingJobAnalytics

job_name, *metric_names = sys.argv[1:]
frame = TrainingJobAnalytics(
    job_name, metric_names=metric_names, sagemaker_session=sagemaker.Session()
).dataframe()
for row in frame.to_dict("records"):
    print("ROW " + json.dumps({"metric_name": row["metric_name"], "value": row["value"]}))
