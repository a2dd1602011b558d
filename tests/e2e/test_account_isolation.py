"""Two accounts on one server, through boto3, the AWS CLI and REST: each sees only its own jobs, tags,
metrics, logs, VMs, buckets and objects, and every cross-account attempt fails with AWS's code."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.client import SageMakerClient
from app.client.auth import SigV4Auth
from app.client.sigv4 import Credentials
from tests.conftest import create_request
from tests.e2e.test_authentication import error_of, s3, sagemaker
from tests.support.jobs import wait_terminal
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server

pytestmark = pytest.mark.e2e

SCRIPT = b"""
for epoch in range(3):
    print(f"epoch={epoch} loss={1 / (epoch + 1):.3f}", flush=True)
"""


@dataclass(frozen=True)
class Account:
    account_id: str
    key: str
    secret: str
    bucket: str

    def role(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/SageMakerRole"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path_factory.mktemp("isolation") / "data", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def accounts(live: Server) -> tuple[Account, Account]:
    """Accounts A and B, made through the admin API, each with a bucket, and a finished job named "shared"
    (A also has "only-a")."""
    admin = SageMakerClient(
        endpoint_url=live.url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET
    )
    made = []
    for name in ("team-a", "team-b"):
        created = admin.create_account(name)
        account = Account(
            created["AccountId"], created["AccessKeyId"], created["SecretAccessKey"], f"{name}-data"
        )
        client = s3(live.url, account.key, account.secret)
        client.create_bucket(Bucket=account.bucket)
        client.put_object(Bucket=account.bucket, Key="code/sourcedir.tar.gz", Body=_sourcedir())
        made.append(account)
    a, b = made
    for account, names in ((a, ("shared", "only-a")), (b, ("shared",))):
        client = sagemaker(live.url, account.key, account.secret)
        for name in names:
            client.create_training_job(**_job(name, account))
        for name in names:
            job = wait_terminal(client, name)
            assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return a, b


def _sourcedir() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(SCRIPT)
        tar.addfile(info, io.BytesIO(SCRIPT))
    return buffer.getvalue()


def _job(name: str, account: Account) -> dict[str, Any]:
    return create_request(
        name,
        RoleArn=account.role(),
        AlgorithmSpecification={
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training:latest",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:loss", "Regex": r"loss=([0-9.]+)"}],
        },
        HyperParameters={
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": f'"s3://{account.bucket}/code/sourcedir.tar.gz"',
        },
        OutputDataConfig={"S3OutputPath": f"s3://{account.bucket}/output"},
        Tags=[{"Key": "team", "Value": account.bucket}],
    )


def _rest(live: Server, account: Account) -> httpx.Client:
    return httpx.Client(base_url=live.url, auth=SigV4Auth(Credentials(account.key, account.secret, None)))


def test_each_account_lists_and_describes_only_its_own_jobs(
    live: Server, accounts: tuple[Account, Account]
) -> None:
    a, b = accounts
    sm_a, sm_b = sagemaker(live.url, a.key, a.secret), sagemaker(live.url, b.key, b.secret)
    assert sorted(j["TrainingJobName"] for j in sm_a.list_training_jobs()["TrainingJobSummaries"]) == [
        "only-a",
        "shared",
    ]
    assert [j["TrainingJobName"] for j in sm_b.list_training_jobs()["TrainingJobSummaries"]] == ["shared"]
    shared_a = sm_a.describe_training_job(TrainingJobName="shared")["TrainingJobArn"]
    shared_b = sm_b.describe_training_job(TrainingJobName="shared")["TrainingJobArn"]
    assert f":{a.account_id}:" in shared_a and f":{b.account_id}:" in shared_b
    only_a = sm_a.describe_training_job(TrainingJobName="only-a")["TrainingJobArn"]
    unknown = error_of(lambda: sm_b.describe_training_job(TrainingJobName="no-such-job"))
    for attempt in (
        lambda: sm_b.describe_training_job(TrainingJobName="only-a"),
        lambda: sm_b.stop_training_job(TrainingJobName="only-a"),
        lambda: sm_b.delete_training_job(TrainingJobName="only-a"),
    ):
        code, status, _ = error_of(attempt)
        assert (code, status) == unknown[:2] == ("ValidationException", 400)
    assert error_of(lambda: sm_b.list_tags(ResourceArn=only_a))[0] == "ValidationException"
    assert error_of(lambda: sm_b.add_tags(ResourceArn=only_a, Tags=[{"Key": "k", "Value": "v"}]))[0] == (
        "ValidationException"
    )
    assert sm_a.list_tags(ResourceArn=only_a)["Tags"] == [{"Key": "team", "Value": a.bucket}]
    code, _, _ = error_of(lambda: sm_b.create_training_job(**_job("borrowed-role", a)))
    assert code == "AccessDeniedException"


def test_metrics_logs_vms_and_downloads_are_the_owners_only(
    live: Server, accounts: tuple[Account, Account]
) -> None:
    a, b = accounts
    with _rest(live, a) as rest_a, _rest(live, b) as rest_b:
        assert rest_a.get("/v1/training-jobs/only-a/metrics").status_code == 200
        for path in ("metrics", "logs", "model"):
            assert rest_b.get(f"/v1/training-jobs/only-a/{path}").status_code == 404
        vms_a = {vm["job"] for vm in rest_a.get("/v1/vms").json()["vms"]}
        vms_b = {vm["job"] for vm in rest_b.get("/v1/vms").json()["vms"]}
        assert vms_a == {"shared", "only-a"} and vms_b == {"shared"}
        # The same name in two accounts is two jobs with two logs.
        assert "loss=" in rest_b.get("/v1/training-jobs/shared/logs").text
        assert rest_b.get(f"/v1/objects/{a.bucket}/code/sourcedir.tar.gz").status_code == 403


def test_buckets_are_global_names_with_private_contents(
    live: Server, accounts: tuple[Account, Account]
) -> None:
    a, b = accounts
    s3_a, s3_b = s3(live.url, a.key, a.secret), s3(live.url, b.key, b.secret)
    assert [x["Name"] for x in s3_b.list_buckets()["Buckets"]] == [b.bucket]
    for attempt in (
        lambda: s3_b.get_object(Bucket=a.bucket, Key="code/sourcedir.tar.gz"),
        lambda: s3_b.put_object(Bucket=a.bucket, Key="planted", Body=b"x"),
        lambda: s3_b.list_objects_v2(Bucket=a.bucket),
        lambda: s3_b.delete_object(Bucket=a.bucket, Key="code/sourcedir.tar.gz"),
        lambda: s3_b.copy_object(
            Bucket=b.bucket, Key="stolen", CopySource={"Bucket": a.bucket, "Key": "code/sourcedir.tar.gz"}
        ),
    ):
        assert error_of(attempt)[:2] == ("AccessDenied", 403)
    assert error_of(lambda: s3_b.create_bucket(Bucket=a.bucket))[:2] == ("BucketAlreadyExists", 409)
    assert s3_a.create_bucket(Bucket=a.bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    keys = [o["Key"] for o in s3_a.list_objects_v2(Bucket=a.bucket)["Contents"]]
    assert "planted" not in keys and "code/sourcedir.tar.gz" in keys


def test_the_aws_cli_is_refused_another_accounts_resources(
    live: Server, accounts: tuple[Account, Account]
) -> None:
    a, b = accounts
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": b.key,
        "AWS_SECRET_ACCESS_KEY": b.secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    aws = [sys.executable, "-m", "awscli", "--endpoint-url", live.url]
    listed = subprocess.run([*aws, "s3", "ls", f"s3://{a.bucket}"], env=env, capture_output=True, timeout=60)
    assert listed.returncode != 0 and b"AccessDenied" in listed.stderr
    described = subprocess.run(
        [*aws, "sagemaker", "describe-training-job", "--training-job-name", "only-a"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert described.returncode != 0 and b"Requested resource not found" in described.stderr
    own = subprocess.run(
        [*aws, "s3", "ls", f"s3://{b.bucket}/code/"], env=env, capture_output=True, timeout=60
    )
    assert own.returncode == 0 and b"sourcedir.tar.gz" in own.stdout
