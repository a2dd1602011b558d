"""SDK v2: a managed-spot script job on `sys.argv[1]` instances that ends at once; the SDK's summary
prints the training and billable seconds and the savings."""

from __future__ import annotations

import os
import sys
import tempfile

import sagemaker
from common import BUCKET, ROLE, ensure_bucket
from sagemaker.estimator import Estimator

source = tempfile.mkdtemp()
with open(os.path.join(source, "train.py"), "w") as script:
    script.write("print('quick job done')\n")
ensure_bucket()
session = sagemaker.Session(default_bucket=BUCKET)
estimator = Estimator(
    image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training:latest",
    entry_point="train.py",
    source_dir=source,
    role=ROLE,
    instance_count=int(sys.argv[1]),
    instance_type="ml.m5.large",
    # Real volumes are reserved in full: three of the SDK's default 30 GB would need 90 GiB of free disk.
    volume_size=1,
    output_path=f"s3://{BUCKET}/output",
    sagemaker_session=session,
    use_spot_instances=True,
    max_run=600,
    max_wait=600,
)
estimator.fit()
