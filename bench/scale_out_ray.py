"""Scale-out: sagelite over a Ray cluster on this machine (a head and two workers on loopback addresses).

    .venv/bin/python bench/scale_out_ray.py [--latency-jobs 20] [--drain-jobs 1000]

- placement → VM running on a remote node: for one job at a time, the time from its VM's reservation
  (the scheduler's placement: the VM row appears, `Provisioning`) to the VM's first log line arriving back
  at the server (the process runs on its node, and its output streams back); p50 and p90 against the goal
  of 1 s;
- drain: `--drain-jobs` small jobs (each prints a line and exits) created at once, drained across both
  nodes; jobs per second, and overcommit checked two ways: what each host's VMs hold (`/v1/hosts`, sampled
  all through the drain) against its capacity, and the most VMs any host ran at once (from every VM's
  start and end times) against how many fit it: a ratio above 1.0 would be overcommit.

Each part is a function of its own (`placement_latency`, `drain`) taking a running server, so that other
parts (Describe throughput on PostgreSQL) can share the file and the cluster.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import sagemaker_client
from tests.support.jobs import entrypoint_job
from tests.support.ray_cluster import ray_cluster
from tests.support.server import ROOT_AUTH, Server, running_server
from tests.support.vm_overlap import most_at_once

PLACEMENT_GOAL_SECONDS = 1.0
# Room for several ml.t3.medium (2 vCPUs, 4 GiB) per worker with the default overcommit.
WORKERS = {"w1": {"cpus": 4, "memory_gib": 8}, "w2": {"cpus": 4, "memory_gib": 8}}
QUICK = "print('up', flush=True)"


@dataclass(frozen=True)
class Latency:
    p50: float
    p90: float
    samples: int


@dataclass(frozen=True)
class Drain:
    jobs: int
    seconds: float
    completed: int
    peak_ratio: float  # the most VMs a host ran at once over how many fit it (vCPUs or memory)
    held_ratio: float  # the most a host's VMs held, sampled, over its capacity (any resource)


@contextmanager
def cluster_server(root: Path) -> Iterator[Server]:
    """A Ray cluster and a sagelite server whose hosts are its two workers."""
    with ray_cluster(root / "ray", workers=WORKERS) as cluster:
        env = {
            "SAGELITE_RAY_ADDRESS": cluster.client_address,
            "SAGELITE_RAY_SYNC_SECONDS": "0.5",
            "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
            "SAGELITE_STOP_GRACE_SECONDS": "2",
        }
        with running_server(root / "data", env=env) as server:
            _wait(lambda: len(_get(server, "/v1/hosts")["hosts"]) == 2, timeout=120)
            yield server


def placement_latency(server: Server, *, jobs: int) -> Latency:
    client = sagemaker_client(server.url)
    samples = []
    for index in range(jobs):
        name = f"latency-{index}"
        client.create_training_job(**_small(name, "import time; print('up', flush=True); time.sleep(30)"))
        vms = _wait(lambda name=name: _vms(server, name), timeout=120)
        placed = time.monotonic()
        _wait(lambda name=name: "up" in _logs(server, name), timeout=120, interval=0.01)
        samples.append(time.monotonic() - placed)
        client.stop_training_job(TrainingJobName=name)
        _wait(lambda name=name: _ended(client, name), timeout=120)
        assert vms
    ordered = sorted(samples)
    return Latency(statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))], len(ordered))


def drain(server: Server, *, jobs: int) -> Drain:
    client = sagemaker_client(server.url)
    sampler = _HeldSampler(server)
    sampler.start()
    started = time.monotonic()
    for index in range(jobs):
        client.create_training_job(**_small(f"drain-{index}", QUICK))
    names = [f"drain-{index}" for index in range(jobs)]
    _wait(lambda: all(_ended(client, name) for name in names[-20:]), timeout=jobs * 10)
    _wait(lambda: all(_ended(client, name) for name in names), timeout=jobs * 10, interval=2)
    seconds = time.monotonic() - started
    held = sampler.finish()
    described = [client.describe_training_job(TrainingJobName=n) for n in names]
    completed = sum(job["TrainingJobStatus"] == "Completed" for job in described)
    for reason in sorted({job.get("FailureReason", "") for job in described} - {""}):
        print(f"drain: a job failed: {reason}")  # the figures below count it; the reason says why
    return Drain(
        jobs=jobs, seconds=seconds, completed=completed, peak_ratio=_peak_ratio(server), held_ratio=held
    )


class _HeldSampler(threading.Thread):
    """Reads every host's allocation against its capacity as the drain goes; the highest ratio seen."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self._server = server
        self._done = threading.Event()
        self.highest = 0.0

    def run(self) -> None:
        while not self._done.wait(0.2):
            for host in _get(self._server, "/v1/hosts")["hosts"]:
                capacity, allocated = host["capacity"], host["allocated"]
                for resource, have in capacity.items():
                    if have:
                        self.highest = max(self.highest, allocated.get(resource, 0) / have)

    def finish(self) -> float:
        self._done.set()
        self.join(timeout=30)
        return self.highest


def _peak_ratio(server: Server) -> float:
    """The most VMs any host ran at once, over how many fit it."""
    hosts = {h["name"]: h["capacity"] for h in _get(server, "/v1/hosts")["hosts"]}
    # Every drain VM is an ml.t3.medium: 2 vCPUs, 4 GiB.
    fit = {name: min(c["vcpus"] // 2, c["memory_gib"] // 4) for name, c in hosts.items()}
    held = most_at_once(_all_vms(server))
    return max((count / fit[host] for host, count in held.items() if fit.get(host)), default=0.0)


def _small(name: str, script: str) -> dict[str, Any]:
    request = entrypoint_job(name, script)
    request["ResourceConfig"]["InstanceType"] = "ml.t3.medium"
    return request


def _get(server: Server, path: str, **params: Any) -> Any:
    return httpx.get(f"{server.url}{path}", params=params, auth=ROOT_AUTH, timeout=30).json()


def _vms(server: Server, job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _get(server, "/v1/vms", job=job)["vms"]
    return found


def _all_vms(server: Server) -> list[dict[str, Any]]:
    found, token = [], None
    while True:
        page = _get(server, "/v1/vms", **({"NextToken": token} if token else {}))
        found += page["vms"]
        token = page.get("NextToken")
        if not token:
            return found


def _logs(server: Server, job: str) -> str:
    return httpx.get(f"{server.url}/v1/training-jobs/{job}/logs", auth=ROOT_AUTH, timeout=30).text


def _ended(client: Any, name: str) -> bool:
    status = client.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
    return status in ("Completed", "Failed", "Stopped")


def _wait(probe: Any, *, timeout: float, interval: float = 0.1) -> Any:
    give_up = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > give_up:
            raise TimeoutError(f"gave up after {timeout} s")
        time.sleep(interval)


def report(latency: Latency, drained: Drain) -> None:
    print(f"{'measure':<44}{'sagelite':>12}{'goal':>10}{'ratio':>8}")
    ratio = latency.p50 / PLACEMENT_GOAL_SECONDS
    print(f"{'placement → VM running on a node, p50 (s)':<44}{latency.p50:>12.3f}{1.0:>10.1f}{ratio:>8.2f}")
    print(f"{'  p90 (s), of ' + str(latency.samples) + ' jobs':<44}{latency.p90:>12.3f}")
    rate = drained.jobs / drained.seconds
    print(f"{'drain: ' + str(drained.jobs) + ' small jobs, jobs/s':<44}{rate:>12.2f}")
    done = drained.completed / drained.jobs
    print(f"{'  completed':<44}{drained.completed:>12d}{drained.jobs:>10d}{done:>8.2f}")
    print(f"{'  most VMs at once / fit a host (≤ 1)':<44}{drained.peak_ratio:>12.2f}{1.0:>10.1f}")
    print(f"{'  most held / host capacity, sampled (≤ 1)':<44}{drained.held_ratio:>12.2f}{1.0:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-jobs", type=int, default=20)
    parser.add_argument("--drain-jobs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scale-out-") as folder, cluster_server(Path(folder)) as server:
        latency = placement_latency(server, jobs=args.latency_jobs)
        drained = drain(server, jobs=args.drain_jobs)
    report(latency, drained)


if __name__ == "__main__":
    main()
