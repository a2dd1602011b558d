"""A running job reaches its account's buckets with boto3, through credentials only it holds, and no other
account's; the credentials end with the job."""

from __future__ import annotations

import json
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from app.client import SageMakerClient
from tests.conftest import create_request, sagemaker_client
from tests.e2e.test_authentication import s3
from tests.support.jobs import fetch_object, s3_client, wait_terminal
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server
from tests.support.vms import isolation, require_oci

pytestmark = pytest.mark.e2e

SERVER_SECRET = "server-only-secret-8c41f0"

# botocore's default chain finds the container credentials; AWS_ENDPOINT_URL points it at the server.
SCRIPT = """
import json, os
import boto3
from botocore.config import Config

session = boto3.Session()
credentials = session.get_credentials()
s3 = session.client("s3", config=Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket="job-bucket", Key="from-the-job.txt", Body=b"written by the job")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="job-bucket").get("Contents", [])]
try:
    s3.list_objects_v2(Bucket="other-bucket")
    other = "listed"
except Exception as error:
    other = getattr(error, "response", {}).get("Error", {}).get("Code", repr(error))
frozen = credentials.get_frozen_credentials()
with open(os.path.join(os.environ["SM_MODEL_DIR"], "report.json"), "w") as f:
    json.dump({
        "method": credentials.method,
        "key_prefix": credentials.access_key[:4],
        "has_token": bool(credentials.token),
        "keys": keys,
        "other_bucket": other,
        # Handed back only so the test can show they stop working when the job ends.
        "credentials": [frozen.access_key, frozen.secret_key, frozen.token],
        "env_names": sorted(os.environ),
        "env_values": "".join(os.environ.values()),
    }, f)
"""


@pytest.fixture(params=["oci", "process"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """Under OCI the job reaches the server through its job network (the credentials at 169.254.170.2,
    as on ECS); as a process, on loopback."""
    if request.param == "oci":
        require_oci()
    env = {
        "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "AWS_SECRET_ACCESS_KEY": SERVER_SECRET,
        "SAGELITE_ISOLATION": request.param,
    }
    with running_server(tmp_path / "data", env=env) as server:
        assert isolation(server) == request.param
        yield server


def test_a_script_job_uses_its_own_session_credentials_and_never_sees_the_servers(
    live: Server, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(textwrap.dedent(SCRIPT))
    s3_client(live.url).create_bucket(Bucket="job-bucket")
    other_account = SageMakerClient(
        endpoint_url=live.url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET
    ).create_account("other-team")
    other_s3 = s3(live.url, other_account["AccessKeyId"], other_account["SecretAccessKey"])
    other_s3.create_bucket(Bucket="other-bucket")
    other_s3.put_object(Bucket="other-bucket", Key="private.txt", Body=b"not for the job")
    client = sagemaker_client(live.url)
    client.create_training_job(
        **create_request(
            "creds",
            AlgorithmSpecification={
                "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training:latest",
                "TrainingInputMode": "File",
            },
            HyperParameters={
                "sagemaker_program": json.dumps("train.py"),
                "sagemaker_submit_directory": json.dumps(f"file://{source}"),
            },
            OutputDataConfig={"S3OutputPath": "s3://job-bucket/output"},
        )
    )
    job = wait_terminal(client, "creds")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    with tarfile.open(
        fetch_object(live, job["ModelArtifacts"]["S3ModelArtifacts"], tmp_path / "m.tgz")
    ) as tar:
        member = tar.extractfile("report.json")
        assert member is not None
        report = json.load(member)
    assert report["method"] == "container-role"
    assert report["key_prefix"] == "ASIA" and report["has_token"]
    assert report["keys"] == ["from-the-job.txt"]
    assert report["other_bucket"] == "AccessDenied"
    # The job is over: its session credentials are revoked.
    key, secret, token = report["credentials"]
    with pytest.raises(ClientError) as refused:
        s3(live.url, key, secret, token).list_objects_v2(Bucket="job-bucket")
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert "AWS_SECRET_ACCESS_KEY" not in report["env_names"]
    assert SERVER_SECRET not in report["env_values"]
