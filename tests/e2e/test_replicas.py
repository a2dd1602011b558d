"""Two API replicas on one PostgreSQL database and one data directory: either answers every operation,
jobs are placed exactly once, and when the replica that places them is killed the other takes over."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import wait_terminal
from tests.support.polling import wait_until
from tests.support.postgres import Postgres
from tests.support.server import ROOT_AUTH, Server, running_server

pytestmark = pytest.mark.e2e

TAKEOVER_SECONDS = 10.0  # the goal; the stall guards below are generous
ENV = {
    "SAGELITE_ISOLATION": "process",  # the VMs are not the subject here; processes start fastest
    "SAGELITE_STOP_GRACE_SECONDS": "1",
    "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
}


@dataclass
class Cluster:
    url: str  # the database's
    servers: list[Server]

    def lease(self) -> tuple[int, int | None]:
        """The lease's epoch and the pid of the replica holding it."""
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                epoch, holder = connection.execute(
                    text("SELECT epoch, holder FROM scheduler_lease WHERE name = 'scheduler'")
                ).one()
        finally:
            engine.dispose()
        return epoch, None if holder is None else int(holder.split(":")[1])

    def leader(self) -> Server:
        _, pid = wait_until(self.lease, until=lambda lease: lease[1] is not None, what="a leader")
        return next(s for s in self.servers if s.process.pid == pid)


@pytest.fixture
def cluster(tmp_path: Path, postgres: Postgres) -> Iterator[Cluster]:
    url = postgres.fresh_database()
    data = tmp_path / "data"  # what every replica mounts: master key, objects, logs
    with ExitStack() as stack:
        servers = [
            stack.enter_context(running_server(data, env={**ENV, "SAGELITE_DATABASE_URL": url}))
            for _ in range(2)
        ]
        yield Cluster(url=url, servers=servers)


def _vms(server: Server, job: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.url}/v1/vms", params={"job": job}, auth=ROOT_AUTH).json()
    vms: list[dict[str, Any]] = answer["vms"]
    return vms


def test_either_replica_answers_and_each_job_is_placed_once(cluster: Cluster) -> None:
    clients = [sagemaker_client(s.url) for s in cluster.servers]
    names = [f"job-{i}" for i in range(4)]
    for i, name in enumerate(names):
        clients[i % 2].create_training_job(**create_request(name))
    for name in names:
        wait_terminal(clients[0], name)
    for name in names:
        one, other = ({k: v for k, v in c.describe_training_job(TrainingJobName=name).items()
                       if k != "ResponseMetadata"} for c in clients)  # fmt: skip
        assert one == other
        assert len(_vms(cluster.servers[1], name)) == 1  # one claim: one VM, reserved once
    listed = [
        sorted(j["TrainingJobName"] for j in c.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])
        for c in clients
    ]
    assert listed == [names, names]


def _long_job(name: str, data: Path) -> dict[str, Any]:
    """An mlp training on a small CSV for as many epochs as it is let."""
    rows = "\n".join(f"{i % 2},{i % 7}.0,{i % 5}.0" for i in range(200))
    data.mkdir(parents=True, exist_ok=True)
    (data / "train.csv").write_text(rows + "\n")
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{data}"}}
    return create_request(
        name,
        HyperParameters={"epochs": "1000000"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": channel}],
    )


def _stat(pid: int) -> str:
    """The process's state letter (T: stopped), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return "gone"


def test_a_replica_that_does_not_run_a_vm_pauses_resumes_and_stops_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    follower = next(s for s in cluster.servers if s is not cluster.leader())
    client = sagemaker_client(follower.url)
    client.create_training_job(**_long_job("long", tmp_path / "csv"))
    [vm] = wait_until(
        lambda: _vms(follower, "long"),
        until=lambda vms: vms and vms[0]["state"] == "Running",
        what="the VM to run",
    )
    vm_url = f"{follower.url}/v1/vms/{vm['id']}"
    assert httpx.post(f"{vm_url}/pause", auth=ROOT_AUTH).json()["state"] == "Paused"
    wait_until(lambda: _stat(vm["pid"]), until=lambda s: s == "T", what="the leader to freeze the VM")
    assert httpx.post(f"{vm_url}/resume", auth=ROOT_AUTH).json()["state"] == "Running"
    wait_until(lambda: _stat(vm["pid"]), until=lambda s: s not in ("T", "gone"), what="it to thaw")
    client.stop_training_job(TrainingJobName="long")
    job = wait_terminal(client, "long")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    wait_until(lambda: _stat(vm["pid"]) == "gone", what="the VM's process to be gone")


def test_killing_the_leader_hands_scheduling_to_the_other_within_seconds(cluster: Cluster) -> None:
    leader = cluster.leader()
    epoch, _ = cluster.lease()
    survivor = next(s for s in cluster.servers if s is not leader)
    client = sagemaker_client(survivor.url)
    client.create_training_job(**create_request("before"))
    assert wait_terminal(client, "before")["TrainingJobStatus"] in ("Completed", "Failed")
    killed_at = time.monotonic()
    os.killpg(leader.process.pid, signal.SIGKILL)
    leader.process.wait(timeout=10)
    new_epoch, _ = wait_until(
        cluster.lease,
        until=lambda lease: lease[1] == survivor.process.pid,
        what="the survivor to take the lease",
        timeout=3 * TAKEOVER_SECONDS,
    )
    took = time.monotonic() - killed_at
    assert new_epoch == epoch + 1
    assert took <= TAKEOVER_SECONDS, f"the takeover took {took:.1f} s"
    client.create_training_job(**create_request("after"))
    job = wait_terminal(client, "after")
    assert job["TrainingJobStatus"] == wait_terminal(client, "before")["TrainingJobStatus"]
    assert len(_vms(survivor, "after")) == 1
