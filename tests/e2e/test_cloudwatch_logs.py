"""CloudWatch Logs over the job logs, through boto3's own `logs` client against the real server: streams,
per-line times, paging both ways, a stream that grows, filters, errors, and another account's blindness."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from app.client import SageMakerClient
from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import wait_terminal
from tests.support.polling import wait_until
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server

pytestmark = pytest.mark.e2e

GROUP = "/aws/sagemaker/TrainingJobs"
# Six lines, a pause (the stream grows while a reader waits at its end), then six more and a half line.
SCRIPT = """
import sys, time
for i in range(6):
    print(f"line {i} loss={1 / (i + 1):.3f}", flush=True)
    time.sleep(0.02)
time.sleep(3)
for i in range(6, 12):
    print(f"line {i} {'ERROR disk full' if i % 4 == 0 else 'ok'}", flush=True)
sys.stdout.write("no newline at the end")
"""


def logs_client(url: str, key: str = ROOT_KEY, secret: str = ROOT_SECRET) -> Any:
    return boto3.client(
        "logs",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("cwlogs")
    (tmp / "src").mkdir()
    (tmp / "src" / "train.py").write_text(SCRIPT)
    (tmp / "din").mkdir()
    (tmp / "din" / "a.csv").write_text("1,2\n")
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp / "data", env=env) as server:
        yield server, tmp


def _job(name: str, tmp: Path, count: int = 1) -> dict[str, Any]:
    return create_request(
        name,
        AlgorithmSpecification={
            "TrainingImage": "x.dkr.ecr.us-east-1.amazonaws.com/t:1",
            "TrainingInputMode": "File",
        },
        HyperParameters={
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps(f"file://{tmp / 'src'}"),
        },
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{tmp / 'din'}"}},
            }
        ],
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": count, "VolumeSizeInGB": 1},
    )


def _events(logs: Any, stream: str, **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, **kwargs)
    return response


def _streams(logs: Any, prefix: str) -> list[str]:
    def listed() -> list[str]:
        try:
            found = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=prefix)["logStreams"]
        except logs.exceptions.ResourceNotFoundException:
            return []  # the group exists once the account's first VM has written (the SDK waits too)
        return [stream["logStreamName"] for stream in found]

    return wait_until(listed, until=bool, what=f"streams {prefix}", timeout=120, interval=0.2)


def test_a_reader_follows_a_growing_stream_with_forward_tokens(live: tuple[Server, Path]) -> None:
    server, tmp = live
    sagemaker_client(server.url).create_training_job(**_job("grow", tmp))
    logs = logs_client(server.url)
    [stream] = _streams(logs, "grow/")
    assert stream.startswith("grow/algo-1-")
    seen: list[dict[str, Any]] = []
    token: str | None = None
    repeats = 0

    def read() -> int:
        nonlocal token, repeats
        page = _events(logs, stream, startFromHead=True, **({"nextToken": token} if token else {}))
        if token is not None and page["nextForwardToken"] == token:
            repeats += 1  # at the end of the stream, CloudWatch hands back the token it was given
        seen.extend(page["events"])
        token = page["nextForwardToken"]
        return len(seen)

    wait_until(read, until=lambda n: n >= 6, what="the first lines", timeout=120, interval=0.1)
    wait_until(read, until=lambda n: n >= 12, what="the lines after the pause", timeout=60, interval=0.1)
    assert repeats >= 1
    assert wait_terminal(sagemaker_client(server.url), "grow")["TrainingJobStatus"] == "Completed"
    read()
    messages = [event["message"] for event in seen]
    assert messages[:12] == [f"line {i} loss={1 / (i + 1):.3f}" for i in range(6)] + [
        f"line {i} {'ERROR disk full' if i % 4 == 0 else 'ok'}" for i in range(6, 12)
    ]
    assert messages[12:] == ["no newline at the end"]  # the last line counts once its job has ended
    times = [event["timestamp"] for event in seen]
    assert times == sorted(times) and times[6] - times[5] >= 2500  # the pause shows in the lines' times


def test_pages_backward_and_forward_and_time_windows(live: tuple[Server, Path]) -> None:
    server, tmp = live
    client = sagemaker_client(server.url)
    client.create_training_job(**_job("pages", tmp))
    assert wait_terminal(client, "pages")["TrainingJobStatus"] == "Completed"
    logs = logs_client(server.url)
    [stream] = _streams(logs, "pages/")
    everything = _events(logs, stream, startFromHead=True)["events"]
    count = len(everything)  # the script's 13 lines, and what the VM's init may have said
    assert sum(e["message"].startswith("line ") for e in everything) == 12 and count >= 13
    newest = _events(logs, stream, limit=5)  # startFromHead false: the newest events
    assert newest["events"] == everything[-5:]
    older = _events(logs, stream, limit=5, nextToken=newest["nextBackwardToken"])
    assert older["events"] == everything[count - 10 : count - 5]
    again = _events(logs, stream, limit=5, nextToken=older["nextForwardToken"])
    assert again["events"] == everything[count - 5 :]
    sixth = next(i for i, e in enumerate(everything) if e["message"] == "line 6 ok")
    cut = everything[sixth]["timestamp"]
    before = _events(logs, stream, startFromHead=True, endTime=cut)["events"]
    after = _events(logs, stream, startFromHead=True, startTime=cut)["events"]
    assert before + after == everything and before == everything[:sixth]

    errors = logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix="pages/", filterPattern="ERROR")
    assert [event["message"] for event in errors["events"]] == ["line 8 ERROR disk full"]
    assert "nextToken" not in errors
    paged = logs.get_paginator("filter_log_events").paginate(
        logGroupName=GROUP,
        logStreamNames=[stream],
        filterPattern='?"loss=" ?ok',
        PaginationConfig={"PageSize": 4},
    )
    assert [e["message"] for page in paged for e in page["events"]] == [
        m["message"] for m in everything if "loss=" in m["message"] or "ok" in m["message"]
    ]


def test_stream_listing_orders_pages_and_ends_without_a_token(live: tuple[Server, Path]) -> None:
    server, tmp = live
    client = sagemaker_client(server.url)
    client.create_training_job(**_job("pair", tmp, count=2))
    assert wait_terminal(client, "pair")["TrainingJobStatus"] == "Completed"
    logs = logs_client(server.url)
    first = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="pair/", limit=1)
    second = logs.describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix="pair/", limit=1, nextToken=first["nextToken"]
    )
    names = [first["logStreams"][0]["logStreamName"], second["logStreams"][0]["logStreamName"]]
    assert [name.rpartition("-")[0] for name in names] == ["pair/algo-1", "pair/algo-2"]
    assert "nextToken" not in second  # the SDK loops while a token comes back
    descending = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="pair/", descending=True)
    assert [s["logStreamName"] for s in descending["logStreams"]] == names[::-1]
    by_time = logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime")["logStreams"]
    last = [s["lastEventTimestamp"] for s in by_time]
    assert last == sorted(last)
    with pytest.raises(ClientError) as refused:
        logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="pair/", orderBy="LastEventTime")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_unknown_streams_groups_and_other_accounts(live: tuple[Server, Path]) -> None:
    server, tmp = live
    client = sagemaker_client(server.url)
    client.create_training_job(**_job("mine", tmp))
    assert wait_terminal(client, "mine")["TrainingJobStatus"] == "Completed"
    logs = logs_client(server.url)
    [stream] = _streams(logs, "mine/")
    for kwargs, message in (
        (
            {"logGroupName": GROUP, "logStreamName": "mine/algo-9-1"},
            "The specified log stream does not exist.",
        ),
        ({"logGroupName": "/aws/other", "logStreamName": stream}, "The specified log group does not exist."),
    ):
        with pytest.raises(ClientError) as missing:
            logs.get_log_events(**kwargs)
        error = missing.value.response["Error"]
        assert (error["Code"], error["Message"]) == ("ResourceNotFoundException", message)

    admin = SageMakerClient(
        endpoint_url=server.url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET
    )
    other = admin.create_account("cw-other")
    theirs = logs_client(server.url, other["AccessKeyId"], other["SecretAccessKey"])
    assert theirs.describe_log_groups()["logGroups"] == []
    with pytest.raises(ClientError) as hidden:
        theirs.get_log_events(logGroupName=GROUP, logStreamName=stream)
    assert hidden.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == [GROUP]


def test_requests_signed_for_another_service_and_unknown_operations(live: tuple[Server, Path]) -> None:
    server, _ = live
    logs = logs_client(server.url)
    logs.meta.events.register("before-sign.logs.*", _sign_as_sagemaker)
    with pytest.raises(ClientError) as wrong:
        logs.describe_log_groups()
    assert wrong.value.response["Error"]["Code"] == "InvalidSignatureException"
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
    )
    cloudwatch.meta.events.register("before-call.cloudwatch.*", _rename_operation)
    with pytest.raises(ClientError) as unknown:
        cloudwatch.list_dashboards()
    assert unknown.value.response["Error"]["Code"] == "UnknownOperationException"


def _sign_as_sagemaker(request: Any, **_: Any) -> None:
    request.context["signing"] = {**request.context.get("signing", {}), "signing_name": "sagemaker"}


def _rename_operation(params: dict[str, Any], **_: Any) -> None:
    params["headers"]["X-Amz-Target"] = "GraniteServiceVersion20100801.NoSuchOperation"
