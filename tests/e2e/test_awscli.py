"""The real AWS CLI (v1, installed next to this interpreter) against the real server, as a user runs it.

The CLI starts slowly (about a second per call), so one test walks a job's whole life with a dozen calls;
boto3 seeds and polls in between, where the CLI is not what is being tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import wait_terminal
from tests.support.server import DUMMY_CREDENTIALS, Server, running_server

pytestmark = pytest.mark.e2e

AWS = Path(sys.executable).parent / "aws"
NOT_FOUND = "Requested resource not found."


@dataclass(frozen=True)
class Cli:
    endpoint: str
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            str(AWS),
            "sagemaker",
            *args,
            "--endpoint-url",
            self.endpoint,
            "--output",
            "json",
        ]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60, check=False)

    def ok(self, *args: str) -> Any:
        """Run a call that must succeed; its output parsed (None when the operation prints nothing)."""
        done = self.run(*args)
        assert done.returncode == 0, f"aws {args[0]} exited {done.returncode}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    def fails(self, *args: str, code: str) -> str:
        """Run a call that must fail with the AWS error `code`; returns what the CLI printed."""
        done = self.run(*args)
        assert done.returncode != 0, done.stdout
        assert f"An error occurred ({code})" in done.stderr, done.stderr
        assert done.stdout == ""
        return done.stderr


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    env = {"SAGELITE_STOP_GRACE_SECONDS": "1", "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path / "data", env=env) as server:
        yield server


@pytest.fixture
def cli(live: Server, tmp_path: Path) -> Cli:
    """The CLI with dummy credentials and empty config files, whatever the user running the tests has."""
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text("")
    credentials.write_text("")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env = {
        **base,
        **DUMMY_CREDENTIALS,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_MAX_ATTEMPTS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return Cli(endpoint=live.url, env=env)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A tiny CSV, label first: enough for `mlp` to train on until it is told to stop."""
    rows = [f"{i % 2},{(i % 2) * 2 - 1 + (i % 7) / 10},{(i % 5) / 5}" for i in range(64)]
    path = tmp_path / "train" / "train.csv"
    path.parent.mkdir()
    path.write_text("\n".join(rows) + "\n")
    return path.parent


def test_a_job_through_its_whole_life(cli: Cli, live: Server, dataset: Path, tmp_path: Path) -> None:
    boto = sagemaker_client(live.url)
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{dataset}"}}
    request = create_request(
        "cli-long",
        HyperParameters={"epochs": "1000000", "hidden_layers": "4", "mini_batch_size": "16"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": channel, "ContentType": "text/csv"}],
        Environment={"SEED": "1"},
        Tags=[{"Key": "team", "Value": "ml"}, {"Key": "stage", "Value": "dev"}],
    )
    request_file = tmp_path / "create.json"
    request_file.write_text(json.dumps(request))

    created = cli.ok("create-training-job", "--cli-input-json", f"file://{request_file}")
    assert created == {"TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/cli-long"}

    described = cli.ok("describe-training-job", "--training-job-name", "cli-long")
    assert described["TrainingJobName"] == "cli-long"
    assert described["TrainingJobStatus"] == "InProgress"
    assert described["RoleArn"] == request["RoleArn"]
    for member in ("HyperParameters", "Environment", "ResourceConfig", "AlgorithmSpecification"):
        assert described[member] == described[member] | request[member], member
    (train,) = described["InputDataConfig"]
    assert train["ChannelName"] == "train" and train["ContentType"] == "text/csv"
    assert train["DataSource"]["S3DataSource"]["S3Uri"] == channel["S3DataSource"]["S3Uri"]
    assert described["OutputDataConfig"]["KmsKeyId"] == ""
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert isinstance(described["CreationTime"], int | float | str)
    assert described["SecondaryStatusTransitions"][0]["Status"] == "Pending"
    assert "Tags" not in described

    for name in ("cli-b", "cli-c", "cli-a"):
        boto.create_training_job(**create_request(name))
    # The CLI follows NextToken itself: pages of 2 come back as one list.
    listed = cli.ok("list-training-jobs", "--name-contains", "CLI-", "--sort-by", "Name", "--page-size", "2")
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == [
        "cli-a",
        "cli-b",
        "cli-c",
        "cli-long",
    ]
    assert "NextToken" not in listed

    arn = created["TrainingJobArn"]
    added = cli.ok("add-tags", "--resource-arn", arn, "--tags", "Key=stage,Value=prod", "Key=owner,Value=me")
    assert added == {"Tags": [{"Key": "stage", "Value": "prod"}, {"Key": "owner", "Value": "me"}]}
    tags = cli.ok("list-tags", "--resource-arn", arn)
    assert tags == {
        "Tags": [
            {"Key": "owner", "Value": "me"},
            {"Key": "stage", "Value": "prod"},
            {"Key": "team", "Value": "ml"},
        ]
    }
    assert cli.ok("delete-tags", "--resource-arn", arn, "--tag-keys", "team", "owner") is None
    assert boto.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "prod"}]

    # A job that is still running cannot be deleted; stopping it ends it Stopped.
    cli.fails("delete-training-job", "--training-job-name", "cli-long", code="ResourceInUse")
    assert cli.ok("stop-training-job", "--training-job-name", "cli-long") is None
    stopped = wait_terminal(boto, "cli-long")
    assert stopped["TrainingJobStatus"] == "Stopped"
    assert [t["Status"] for t in stopped["SecondaryStatusTransitions"]][-1] == "Stopped"
    assert cli.ok("delete-training-job", "--training-job-name", "cli-long") is None

    printed = cli.fails(
        "describe-training-job", "--training-job-name", "cli-long", code="ValidationException"
    )
    assert NOT_FOUND in printed
    duplicate = tmp_path / "duplicate.json"
    duplicate.write_text(json.dumps(create_request("cli-a")))
    cli.fails("create-training-job", "--cli-input-json", f"file://{duplicate}", code="ResourceInUse")
