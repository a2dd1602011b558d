"""A create answered 200 is on disk: it survives a `kill -9` of the server right after the answer.

Neither the write lock nor the scheduler's incremental passes may buy speed with durability: the
answer leaves only after the commit, and WAL with synchronous=NORMAL keeps a commit across a crash
of the process (only an OS crash may lose the last ones).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from botocore import exceptions as boto_errors

from tests.conftest import create_request, sagemaker_client
from tests.support.server import running_server

pytestmark = pytest.mark.e2e

CLIENTS = 8
KILL_AFTER = 24  # answers; the other clients still have creates in flight when the server dies
PER_CLIENT = 200  # a bound on each client's creates, never reached: the kill comes first
HOST = {"name": "host-1", "vcpus": 4, "memory_gib": 16, "gpus": 0, "disk_gib": 1000}


def test_creates_answered_before_a_kill_9_survive_it(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.json"
    hosts.write_text(json.dumps([HOST]))
    env = {"SAGELITE_HOSTS_FILE": str(hosts)}
    data = tmp_path / "data"
    answered: dict[str, str] = {}  # name -> ARN, recorded right after each 200
    enough = threading.Event()
    lock = threading.Lock()

    with running_server(data, env=env) as first:

        def client_loop(slot: int) -> None:
            client = sagemaker_client(first.url)
            for index in range(PER_CLIENT):
                name = f"durable-{slot}-{index}"
                try:
                    arn = client.create_training_job(**create_request(name))["TrainingJobArn"]
                except (boto_errors.ConnectionError, boto_errors.HTTPClientError):  # died mid-create
                    return
                with lock:
                    answered[name] = arn
                    if len(answered) >= KILL_AFTER:
                        enough.set()

        threads = [threading.Thread(target=client_loop, args=(slot,)) for slot in range(CLIENTS)]
        for thread in threads:
            thread.start()
        assert enough.wait(60), f"only {len(answered)} creates answered"
        os.killpg(first.process.pid, signal.SIGKILL)  # no shutdown, no flush: the process just ends
        with lock:
            promised = dict(answered)
        first.process.wait(timeout=10)
        for thread in threads:
            thread.join(timeout=60)

    with running_server(data, env=env) as second:
        client = sagemaker_client(second.url)
        for name, arn in promised.items():
            assert client.describe_training_job(TrainingJobName=name)["TrainingJobArn"] == arn
        paginator = client.get_paginator("list_training_jobs")
        listed = {s["TrainingJobName"] for page in paginator.paginate() for s in page["TrainingJobSummaries"]}
        assert promised.keys() <= listed
