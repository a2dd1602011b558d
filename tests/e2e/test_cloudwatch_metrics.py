"""CloudWatch metrics over the job metric series, through boto3's own `cloudwatch` client against the real
server: a two-VM job prints metric lines in two 5-second periods of each VM; ListMetrics shows the job's
and each host's metric, GetMetricStatistics the averages per period (and what the SDK's
TrainingJobAnalytics asks for), GetMetricData pages, CloudWatch's error form, and another account sees
nothing."""

from __future__ import annotations

import datetime as dt
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
from tests.support.sdk import run_sdk
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server

pytestmark = pytest.mark.e2e

NAMESPACE = "/aws/sagemaker/TrainingJobs"
# Each group of lines is printed half a second into a 5-second period (the pump stamps a line when it
# reads it: 4.5 s of slack), the second group in the next period.
SCRIPT = """
import os, time
def next_period():
    time.sleep(5 - time.time() % 5 + 0.5)
first = {"algo-1": [1.0, 3.0], "algo-2": [5.0]}[os.environ["CURRENT_HOST"]]
next_period()
for value in first:
    print(f"epoch 1 loss={value}", flush=True)
if os.environ["CURRENT_HOST"] == "algo-1":
    print("final acc=0.75", flush=True)
next_period()
print("epoch 2 loss=10", flush=True)
"""
JOB = "cw-metrics"
BY_JOB = [{"Name": "TrainingJobName", "Value": JOB}]


def cloudwatch_client(url: str, key: str = ROOT_KEY, secret: str = ROOT_SECRET, **config: Any) -> Any:
    return boto3.client(
        "cloudwatch",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, Any]]]:
    """The server and the description of the two-VM job, once it has completed."""
    tmp = tmp_path_factory.mktemp("cwmetrics")
    (tmp / "src").mkdir()
    (tmp / "src" / "train.py").write_text(SCRIPT)
    (tmp / "din").mkdir()
    (tmp / "din" / "a.csv").write_text("1,2\n")
    with running_server(tmp / "data", env={"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}) as server:
        client = sagemaker_client(server.url)
        client.create_training_job(**_job(tmp))
        description = wait_terminal(client, JOB)
        assert description["TrainingJobStatus"] == "Completed", description
        yield server, description


def _job(tmp: Path) -> dict[str, Any]:
    return create_request(
        JOB,
        AlgorithmSpecification={
            "TrainingImage": "x.dkr.ecr.us-east-1.amazonaws.com/t:1",
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "train:loss", "Regex": r"loss=([0-9.]+)"},
                {"Name": "acc", "Regex": r"acc=([0-9.]+)"},
            ],
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
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1},
    )


def _window(description: dict[str, Any]) -> dict[str, dt.datetime]:
    """The job's training time, padded as the SDK pads it."""
    end = description["TrainingEndTime"] + dt.timedelta(minutes=1)
    return {"StartTime": description["TrainingStartTime"], "EndTime": end}


def test_each_metric_is_listed_for_the_job_and_for_each_host(finished: tuple[Server, dict[str, Any]]) -> None:
    url = finished[0].url
    cloudwatch = cloudwatch_client(url)
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
    assert [(m["MetricName"], m["Dimensions"]) for m in listed] == [
        ("acc", BY_JOB),
        ("acc", [{"Name": "Host", "Value": f"{JOB}/algo-1"}]),
        ("train:loss", BY_JOB),
        ("train:loss", [{"Name": "Host", "Value": f"{JOB}/algo-1"}]),
        ("train:loss", [{"Name": "Host", "Value": f"{JOB}/algo-2"}]),
    ]
    by_host = cloudwatch.list_metrics(MetricName="train:loss", Dimensions=[{"Name": "Host"}])["Metrics"]
    assert len(by_host) == 2
    assert "NextToken" not in cloudwatch.list_metrics()


def test_averages_per_period_for_each_host_and_the_job(finished: tuple[Server, dict[str, Any]]) -> None:
    server, description = finished
    url = server.url
    cloudwatch = cloudwatch_client(url)

    def periods(dimensions: list[dict[str, str]]) -> dict[dt.datetime, dict[str, float]]:
        points = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName="train:loss",
            Dimensions=dimensions,
            Period=5,
            Statistics=["Average", "SampleCount", "Sum"],
            **_window(description),
        )["Datapoints"]
        assert {p.pop("Unit") for p in points} == {"None"}
        return {p.pop("Timestamp"): p for p in points}

    first, second = (periods([{"Name": "Host", "Value": f"{JOB}/algo-{n}"}]) for n in (1, 2))
    assert [(p["Average"], p["SampleCount"]) for _, p in sorted(first.items())] == [(2.0, 2.0), (10.0, 1.0)]
    assert [(p["Average"], p["SampleCount"]) for _, p in sorted(second.items())] == [(5.0, 1.0), (10.0, 1.0)]
    # The VMs start apart, so their periods may differ: the job's are theirs merged.
    merged: dict[dt.datetime, list[float]] = {}
    for host in (first, second):
        for timestamp, point in host.items():
            total, count = merged.get(timestamp, [0.0, 0.0])
            merged[timestamp] = [total + point["Sum"], count + point["SampleCount"]]
    job = periods(BY_JOB)
    assert {t: (p["Average"], p["SampleCount"]) for t, p in job.items()} == {
        t: (total / count, count) for t, (total, count) in merged.items()
    }


def test_what_the_sdk_training_job_analytics_asks_for(finished: tuple[Server, dict[str, Any]]) -> None:
    server, description = finished
    url = server.url
    cloudwatch = cloudwatch_client(url)
    # TrainingJobAnalytics: one metric, the job's dimension, Average, a period of 60 s, the padded window.
    request = {"Namespace": NAMESPACE, "Dimensions": BY_JOB, "Period": 60, "Statistics": ["Average"]}
    acc = cloudwatch.get_metric_statistics(MetricName="acc", **request, **_window(description))
    assert [p["Average"] for p in acc["Datapoints"]] == [0.75]
    loss = cloudwatch.get_metric_statistics(
        MetricName="train:loss", **request | {"Statistics": ["Sum"]}, **_window(description)
    )
    assert sum(p["Sum"] for p in loss["Datapoints"]) == 1 + 3 + 5 + 10 + 10


def test_metric_data_comes_in_pages(finished: tuple[Server, dict[str, Any]]) -> None:
    server, description = finished
    url = server.url
    cloudwatch = cloudwatch_client(url)
    host = [{"Name": "Host", "Value": f"{JOB}/algo-1"}]
    metric = {"Namespace": NAMESPACE, "MetricName": "train:loss", "Dimensions": host}
    queries = [
        {"Id": "avg", "MetricStat": {"Metric": metric, "Period": 5, "Stat": "Average"}},
        {"Id": "top", "MetricStat": {"Metric": metric, "Period": 5, "Stat": "p100"}, "Label": "highest"},
    ]
    pages = cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, ScanBy="TimestampAscending", MaxDatapoints=1, **_window(description)
    )
    seen: dict[str, list[float]] = {}
    count = 0
    for page in pages:
        count += 1
        for result in page["MetricDataResults"]:
            seen.setdefault(result["Label"], []).extend(result["Values"])
            assert len(result["Timestamps"]) == len(result["Values"])
    assert count == 4
    assert seen == {"train:loss": [2.0, 10.0], "highest": [3.0, 10.0]}


def test_cloudwatch_errors_and_another_account(finished: tuple[Server, dict[str, Any]]) -> None:
    server, description = finished
    url = server.url
    cloudwatch = cloudwatch_client(url)
    with pytest.raises(ClientError) as neither:
        cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName="acc", Dimensions=BY_JOB, Period=60, **_window(description)
        )
    assert neither.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as period:
        cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName="acc", Period=45, Statistics=["Average"], **_window(description)
        )
    assert period.value.response["Error"]["Code"] == "InvalidParameterValue"
    unchecked = cloudwatch_client(url, parameter_validation=False)
    with pytest.raises(ClientError) as missing:
        unchecked.get_metric_statistics(Namespace=NAMESPACE, MetricName="acc", Period=60, Statistics=["Sum"])
    error = missing.value.response["Error"]
    assert (error["Code"], error["Message"], error["Type"]) == (
        "MissingParameter",
        "The parameter StartTime is required.",
        "Sender",
    )

    admin = SageMakerClient(endpoint_url=url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET)
    other = admin.create_account("cw-metrics-other")
    theirs = cloudwatch_client(url, other["AccessKeyId"], other["SecretAccessKey"])
    assert theirs.list_metrics()["Metrics"] == []
    blind = theirs.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="acc",
        Dimensions=BY_JOB,
        Period=60,
        Statistics=["Average"],
        **_window(description),
    )
    assert blind["Datapoints"] == []


def test_the_sdk_training_job_analytics_dataframe_holds_the_printed_values(
    finished: tuple[Server, dict[str, Any]],
) -> None:
    server, description = finished
    printed = run_sdk(2, "v2_analytics.py", server, JOB, "acc", "train:loss", bucket="unused")
    rows = [json.loads(line.removeprefix("ROW ")) for line in printed.splitlines() if line.startswith("ROW ")]
    assert [row["value"] for row in rows if row["metric_name"] == "acc"] == [0.75], printed[-3000:]
    # The loss averages per minute (one or two minutes, as the run fell), as CloudWatch computes them.
    minutes = cloudwatch_client(server.url).get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="train:loss",
        Dimensions=BY_JOB,
        Period=60,
        Statistics=["Average"],
        **_window(description),
    )["Datapoints"]
    loss = sorted(row["value"] for row in rows if row["metric_name"] == "train:loss")
    assert loss == sorted(point["Average"] for point in minutes) and loss
