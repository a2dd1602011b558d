"""What operators see of the real server: `/metrics` moving during a run, the access log in both formats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import s3_client, wait_terminal
from tests.support.polling import wait_until
from tests.support.server import ROOT_AUTH, Server, running_server

pytestmark = pytest.mark.e2e

TOKEN = "e2e-scrape-token"
ACCESS_LOGGER = "app.api.access_log"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    env = {"SAGELITE_METRICS_TOKEN": TOKEN, "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path / "data", env=env) as server:
        yield server


def _scrape(server: Server) -> dict[str, float]:
    answer = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return {
        line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
        for line in answer.text.splitlines()
        if line and not line.startswith("#")
    }


def _job(name: str, data: Path) -> dict[str, Any]:
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{data}"}}
    return create_request(
        name,
        HyperParameters={"epochs": "2"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": channel}],
    )


def test_metrics_move_while_a_job_runs(live: Server, tmp_path: Path) -> None:
    data = tmp_path / "train"
    data.mkdir()
    rng = np.random.default_rng(3)
    features = rng.normal(size=(300, 4))
    labels = (features[:, 0] > 0).astype(int)
    np.savetxt(data / "train.csv", np.column_stack([labels, features]), delimiter=",", fmt="%.4f")
    created = 'sagelite_requests_total{operation="CreateTrainingJob",status="200"}'
    before = _scrape(live)
    assert before.get(created, 0) == 0 and before['sagelite_jobs{status="Completed"}'] == 0

    client = sagemaker_client(live.url)
    client.create_training_job(**_job("watched", data))
    running = wait_until(
        lambda: _scrape(live),
        until=lambda seen: (
            seen['sagelite_vms{state="Running"}'] + seen['sagelite_vms{state="Terminated"}'] >= 1
        ),
        what="the job's VM in the gauges",
    )
    assert running[created] == 1
    assert running["sagelite_job_placement_wait_seconds_count"] == 1
    wait_terminal(client, "watched")
    after = _scrape(live)
    assert (
        after['sagelite_jobs{status="Completed"}'] == 1 and after['sagelite_jobs{status="InProgress"}'] == 0
    )
    assert after['sagelite_vms{state="Terminated"}'] == 1 and after["sagelite_queue_depth"] == 0
    assert after['sagelite_requests_total{operation="DescribeTrainingJob",status="200"}'] >= 1
    assert (
        after["sagelite_scheduler_pass_duration_seconds_count"]
        > before["sagelite_scheduler_pass_duration_seconds_count"]
    )
    assert after["sagelite_object_store_objects"] >= 1  # model.tar.gz and output.tar.gz went to the store
    cpus = next(k for k in after if k.startswith("sagelite_host_allocated{") and 'resource="vcpus"' in k)
    assert after[cpus] == 0  # the VM has given its capacity back


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_request_has_one_access_log_line(tmp_path: Path, log_format: str) -> None:
    env = {"SAGELITE_LOG_FORMAT": log_format}
    with running_server(tmp_path / "data", env=env) as server:
        aws = sagemaker_client(server.url).list_training_jobs()
        s3_client(server.url).create_bucket(Bucket="logged")
        rest = httpx.get(f"{server.url}/v1/vms", params={"MaxResults": 5}, auth=ROOT_AUTH)
        unknown = httpx.post(
            f"{server.url}/", headers={"X-Amz-Target": "SageMaker.Nope"}, content=b"{}", auth=ROOT_AUTH
        )
        request_ids = [
            aws["ResponseMetadata"]["RequestId"],
            rest.headers["x-amzn-requestid"],
            unknown.headers["x-amzn-requestid"],
        ]
        wait_until(  # the line is written once the answer is sent, a moment after the client has it
            lambda: server.log.read_text(),
            until=lambda text: request_ids[-1] in text,
            what="the last request's access log line",
        )
    lines = [line for line in server.log.read_text().splitlines() if ACCESS_LOGGER in line]
    if log_format == "json":
        entries = [json.loads(line) for line in lines]
        ours = [e for e in entries if e["path"] != "/healthz"]
        assert [(e["method"], e["operation"], e["status"]) for e in ours] == [
            ("POST", "ListTrainingJobs", 200),
            ("PUT", "CreateBucket", 200),
            ("GET", "GET /v1/vms", 200),
            ("POST", "unknown", 400),
        ]
        assert [ours[0]["request_id"], ours[2]["request_id"], ours[3]["request_id"]] == request_ids
        assert ours[3]["level"] == "WARNING" and ours[3]["target"] == "SageMaker.Nope"
        assert all(e["client"] == "127.0.0.1" and e["duration_ms"] >= 0 for e in ours)
        assert all(e["account"] == "123456789012" for e in ours)  # the verified caller's
        assert ours[2]["bytes_out"] == len(rest.content) and ours[2]["path"] == "/v1/vms"
    else:
        ours = [line for line in lines if "path=/healthz" not in line]
        assert len(ours) == 4
        assert (
            f" INFO app.api.access_log request request_id={request_ids[0]} "
            "method=POST path=/ operation=ListTrainingJobs" in ours[0]
        )
        assert (
            f'request_id={request_ids[1]} method=GET path=/v1/vms operation="GET /v1/vms" status=200'
            in ours[2]
        )
        assert " WARNING app.api.access_log " in ours[3] and "target=SageMaker.Nope" in ours[3]
    assert not any("Signature=" in line or "Credential=" in line for line in lines)
