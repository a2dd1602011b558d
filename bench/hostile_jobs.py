"""Hostile jobs against the real server: the API's latency and the server's memory, against a calm baseline.

    .venv/bin/python bench/hostile_jobs.py [--line-gib 1.5]

1. `/healthz` p50 / p99 with no job running vs while a job prints lines built to make its
   MetricDefinitions backtrack (`loss=((a+)+)$` on RE2, `(?=l)loss=((a|a)+)$` on the time budget);
   goal: p99 under 50 ms.
2. The server's RSS growth while `GET /logs?follow=true` streams a newline-free line of `--line-gib`
   (1.5 GiB, as in the issue) with the per-VM log cap set above it; goal: under 100 MiB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import sagemaker_client  # noqa: E402
from tests.e2e.test_hostile_jobs import (  # noqa: E402
    EVIL_SCRIPT,
    HUGE_LINE_SCRIPT,
    MIB,
    healthz_latencies,
    healthz_while_job_runs,
    rss_bytes,
    wait_training,
)
from tests.support.jobs import entrypoint_job, wait_terminal  # noqa: E402
from tests.support.server import ROOT_AUTH, Server, running_server  # noqa: E402

EVIL_METRICS = {
    "evil": r"loss=((a+)+)$",
    "evil-lookaround": r"(?=l)loss=((a|a)+)$",
    "loss": r"loss=([0-9.]+)",
}


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def healthz_idle(server: Server, seconds: float) -> list[float]:
    done = threading.Event()
    threading.Timer(seconds, done.set).start()
    return healthz_latencies(server, until=done)


def healthz_during_evil_job(server: Server) -> list[float]:
    client = sagemaker_client(server.url)
    client.create_training_job(**entrypoint_job("evil-regex", EVIL_SCRIPT, metrics=EVIL_METRICS))
    job, latencies = healthz_while_job_runs(server, client, "evil-regex")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return latencies


def huge_line(server: Server, mib: int) -> tuple[int, int, float]:
    """(bytes read back, server RSS growth, seconds) for a job printing `mib` MiB without a newline."""
    client = sagemaker_client(server.url)
    baseline = peak = rss_bytes(server.process.pid)
    client.create_training_job(**entrypoint_job("huge-line", HUGE_LINE_SCRIPT.format(mib=mib)))
    wait_training(client, "huge-line")
    received, started = 0, time.perf_counter()
    url = f"{server.url}/v1/training-jobs/huge-line/logs"
    with httpx.stream("GET", url, params={"follow": "true"}, timeout=120, auth=ROOT_AUTH) as response:
        for chunk in response.iter_bytes():
            received += len(chunk)
            peak = max(peak, rss_bytes(server.process.pid))
    elapsed = time.perf_counter() - started
    wait_terminal(client, "huge-line", timeout=600)
    return received, peak - baseline, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--line-gib", type=float, default=1.5)
    args = parser.parse_args()
    mib = int(args.line_gib * 1024)
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
            "SAGELITE_MAX_LOG_BYTES_PER_VM": str((mib + 64) * MIB),
        }
        with running_server(Path(scratch) / "data", env=env) as server:
            idle = percentiles(healthz_idle(server, 5.0))
            evil = percentiles(healthz_during_evil_job(server))
            received, growth, seconds = huge_line(server, mib)
    print(f"{'/healthz':<34}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'  no job':<34}{idle[0]:>10.1f}{idle[1]:>10.1f}")
    print(f"{'  pathological metric regexes':<34}{evil[0]:>10.1f}{evil[1]:>10.1f}")
    print(f"{'  ratio (regex job / no job)':<34}{evil[0] / idle[0]:>10.2f}{evil[1] / idle[1]:>10.2f}")
    print(f"p99 goal 50 ms: {'met' if evil[1] < 50 else 'MISSED'}")
    print()
    print(f"newline-free line of {mib} MiB read through /logs?follow=true in {seconds:.1f} s")
    print(f"  bytes read back        {received / MIB:>10.0f} MiB")
    print(f"  server RSS growth      {growth / MIB:>10.1f} MiB")
    print(f"  growth / line size     {growth / (mib * MIB):>10.4f}")
    print(f"RSS goal 100 MiB: {'met' if growth < 100 * MIB else 'MISSED'}")


if __name__ == "__main__":
    main()
