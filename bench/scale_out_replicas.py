"""DescribeTrainingJob throughput of one and of two API replicas on PostgreSQL, side by side, with one
replica on SQLite for reference.

    .venv/bin/python bench/scale_out_replicas.py [--jobs 50] [--seconds 3] [--clients 8]

Starts Debian's PostgreSQL on a free port (or uses SAGELITE_TEST_DATABASE_URL's server), then for each
setup starts the replicas (`sagelite serve`, one data directory) on free loopback ports, seeds `--jobs`
jobs, and has `--clients` threads (one keep-alive httpx connection each, signed as the root key) call
Describe for `--seconds`, the clients spread evenly over the replicas. On a machine with fewer cores than
replicas plus clients, two replicas cannot show scaling: the figure is for larger machines to confirm.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.polling import wait_until  # noqa: E402
from tests.support.postgres import postgres_for_tests  # noqa: E402
from tests.support.server import ROOT_AUTH, running_server  # noqa: E402

# The per-key throttle (200/s by default) would measure itself: lift it.
ENV = {
    "SAGELITE_ISOLATION": "process",
    "SAGELITE_LOG_LEVEL": "warning",
    "SAGELITE_THROTTLE_RATE_PER_SECOND": "1000000",
    "SAGELITE_THROTTLE_BURST": "1000000",
}
TERMINAL = ("Completed", "Failed", "Stopped")


def call(client: httpx.Client, url: str, operation: str, body: dict[str, object]) -> dict[str, object]:
    headers = {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"}
    answer = client.post(f"{url}/", content=json.dumps(body), headers=headers)
    answer.raise_for_status()
    result: dict[str, object] = answer.json()
    return result


def job(name: str) -> dict[str, object]:
    return {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {"TrainingImage": "mlp", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bench/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


@contextmanager
def replicas(work: Path, count: int, database_url: str | None) -> Iterator[list[str]]:
    env = ENV | ({"SAGELITE_DATABASE_URL": database_url} if database_url else {})
    with ExitStack() as stack:
        yield [stack.enter_context(running_server(work / "data", env=env)).url for _ in range(count)]


def seed(urls: list[str], names: list[str]) -> None:
    with httpx.Client(auth=ROOT_AUTH, timeout=30) as client:
        for url, name in zip(itertools.cycle(urls), names, strict=False):
            call(client, url, "CreateTrainingJob", job(name))

        def ended() -> bool:
            return all(
                call(client, urls[0], "DescribeTrainingJob", {"TrainingJobName": n})["TrainingJobStatus"]
                in TERMINAL
                for n in names
            )

        wait_until(ended, what="the seeded jobs to end", timeout=300, interval=0.5)


def describe_load(
    urls: list[str], names: list[str], *, clients: int, seconds: float
) -> tuple[float, list[float]]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop_at = time.monotonic() + seconds

    def worker(index: int) -> None:
        url = urls[index % len(urls)]
        with httpx.Client(auth=ROOT_AUTH, timeout=30) as client:
            for name in itertools.cycle(names):
                started = time.monotonic()
                if started >= stop_at:
                    return
                try:
                    call(client, url, "DescribeTrainingJob", {"TrainingJobName": name})
                except httpx.HTTPError as error:  # counted and shown: a failed call is no sample
                    errors.append(f"{url}: {error}")
                    continue
                latencies[index].append(time.monotonic() - started)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [x for per in latencies for x in per]
    if errors:
        print(f"{len(errors)} failed calls, the first: {errors[0]}", file=sys.stderr)
    return len(flat) / (time.monotonic() - began), flat


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    names = [f"bench-{i}" for i in range(args.jobs)]
    rows: list[tuple[str, float, list[float]]] = []
    with postgres_for_tests() as postgres, tempfile.TemporaryDirectory(prefix="sagelite-scale-") as tmp:
        for label, count, url in (
            ("SQLite, 1 replica", 1, None),
            ("PostgreSQL, 1 replica", 1, postgres.fresh_database()),
            ("PostgreSQL, 2 replicas", 2, postgres.fresh_database()),
        ):
            work = Path(tmp) / label.replace(" ", "").replace(",", "-")
            with replicas(work, count, url) as urls:
                seed(urls, names)
                rate, latencies = describe_load(urls, names, clients=args.clients, seconds=args.seconds)
            rows.append((label, rate, latencies))
    reference = rows[1][1]
    print(f"\nDescribeTrainingJob, {args.clients} clients, {args.seconds:g} s, {args.jobs} jobs")
    print(f"{'setup':<24}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs PG x1':>10}")
    for label, rate, latencies in rows:
        p50 = statistics.median(latencies) * 1000
        p99 = statistics.quantiles(latencies, n=100)[98] * 1000
        print(f"{label:<24}{rate:>9.0f}{p50:>9.1f}{p99:>9.1f}{rate / reference:>9.2f}x")


if __name__ == "__main__":
    main()
