"""CreateTrainingJob latency with a long queue: sagelite vs moto's SageMaker emulation, side by side.

    .venv/bin/python bench/create_latency.py [--queued 5000] [--seconds 3] [--rounds 3] [--clients 16]

Starts `sagelite serve` and `moto_server` on free loopback ports, as bench/api_throughput.py does. On
sagelite, a job paused mid-training (SIGSTOP through `POST /v1/vms/{id}/pause`) fills the only host, so
every other job queues behind it; `--queued` jobs are then created on each server and left queued. Once
sagelite's scheduler has told the last of them why it waits (the queue is at rest), each round measures
CreateTrainingJob from `--clients` concurrent httpx clients for `--seconds`, alternating the servers.
The jobs a round creates stay queued too, so the queue only grows.

The table shows the medians over the rounds of requests/s and of the p50 / p99 latencies, the ratio
sagelite / moto of requests/s, and the goals: p99 <= 50 ms at 16 clients, and >= 2x moto's throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api_throughput import (  # noqa: E402
    AUTH,
    Sample,
    Target,
    cells,
    create_request,
    headers,
    httpx_clients,
    median_sample,
    moto,
    pool_held,
    sagelite,
    with_cpu,
)

P99_GOAL_MS = 50.0
RATIO_GOAL = 2.0
SEED_CLIENTS = 16
SETTLE_SECONDS = 300.0


def create_body(name: str) -> bytes:
    return json.dumps(create_request(name)).encode()


def seed(target: Target, count: int) -> None:
    """Create `count` jobs from a few keep-alive connections; on sagelite they all queue."""
    names = iter([f"queued-{index:06d}" for index in range(count)])
    lock = threading.Lock()

    def next_name() -> str | None:
        with lock:
            return next(names, None)

    def worker(_: int) -> None:
        with httpx.Client(
            base_url=target.url, headers=headers("CreateTrainingJob"), timeout=60.0, auth=AUTH
        ) as http:
            while (name := next_name()) is not None:
                response = http.post("/", content=create_body(name))
                if response.status_code != 200:
                    raise RuntimeError(f"seeding {name} failed: {response.status_code} {response.text[:200]}")

    with ThreadPoolExecutor(max_workers=SEED_CLIENTS) as pool:
        list(pool.map(worker, range(SEED_CLIENTS)))


def wait_queue_at_rest(target: Target, last: str, timeout: float = SETTLE_SECONDS) -> float:
    """Wait until the scheduler has told `last` (the newest queued job) why it waits; seconds taken."""
    started = time.monotonic()
    deadline = started + timeout
    body = json.dumps({"TrainingJobName": last}).encode()
    with httpx.Client(
        base_url=target.url, headers=headers("DescribeTrainingJob"), timeout=30.0, auth=AUTH
    ) as http:
        while time.monotonic() < deadline:
            job = http.post("/", content=body).json()
            if job["TrainingJobStatus"] != "InProgress":
                raise RuntimeError(f"{last} is {job['TrainingJobStatus']}: the queue did not hold")
            if "capacity" in job["SecondaryStatusTransitions"][-1].get("StatusMessage", "").lower():
                return time.monotonic() - started
            time.sleep(0.2)
    raise TimeoutError(f"the scheduler had not told {last} why it waits after {timeout:.0f} s")


class CreateRounds:
    """Successive measurements of Create from concurrent clients, with names unique across rounds."""

    def __init__(self, target: Target, clients: int, seconds: float) -> None:
        self.target, self.clients, self.seconds = target, clients, seconds
        self.round = 0

    def measure(self) -> Sample:
        self.round += 1
        prefix = f"r{self.round}"
        return httpx_clients(
            self.target.url,
            "CreateTrainingJob",
            lambda slot, index: create_body(f"{prefix}-c{slot}-{index + 1}"),
            self.clients,
            self.seconds,
        )


def report(samples: dict[str, list[Sample]], args: argparse.Namespace, settled: float) -> None:
    ours, theirs = median_sample(samples["sagelite"]), median_sample(samples["moto"])
    ratio = ours.requests_per_second / theirs.requests_per_second
    print(
        f"\nmedians of {args.rounds} rounds of {args.seconds:g} s; {args.queued} jobs queued behind a paused "
        f"one (the queue came to rest {settled:.1f} s after seeding); {args.clients} httpx clients; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        "req/s; p50 and p99 latency in ms; CPU µs per request in the server (srv) and in the clients (cli)\n"
    )
    columns = f"{'req/s':>8}{'p50':>9}{'p99':>9}{'srv':>7}{'cli':>7}"
    print(f"{'':<20}|{'sagelite':^40}|{'moto':^40}|")
    print(f"{'scenario':<20}|{columns}|{columns}|{'ratio':>7}")
    print("-" * 108)
    print(f"{'Create, long queue':<20}|{cells(ours)}|{cells(theirs)}|{ratio:>6.1f}x")
    print(
        f"latency sagelite/moto: p50 {ours.p50_ms / theirs.p50_ms:.2f}, p99 {ours.p99_ms / theirs.p99_ms:.2f}"
    )
    print("\ngoals")
    for line, met in (
        (f"create p99 {ours.p99_ms:.1f} ms (goal <= {P99_GOAL_MS:g} ms)", ours.p99_ms <= P99_GOAL_MS),
        (f"create throughput {ratio:.1f}x moto (goal >= {RATIO_GOAL:g}x)", ratio >= RATIO_GOAL),
    ):
        print(f"  [{'met ' if met else 'MISS'}] {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queued", type=int, default=5000, help="jobs left queued on each server")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16, help="concurrent httpx clients")
    args = parser.parse_args()
    samples: dict[str, list[Sample]] = {"sagelite": [], "moto": []}
    with (
        tempfile.TemporaryDirectory(prefix="sagelite-bench-") as work,
        sagelite(Path(work)) as ours,
        moto(Path(work)) as theirs,
        pool_held(ours, Path(work)),
    ):
        for target in (ours, theirs):
            started = time.perf_counter()
            seed(target, args.queued)
            print(f"created {args.queued} jobs on {target.name} in {time.perf_counter() - started:.1f} s")
        settled = wait_queue_at_rest(ours, f"queued-{args.queued - 1:06d}")
        rounds = [CreateRounds(target, args.clients, args.seconds) for target in (ours, theirs)]
        for round_number in range(1, args.rounds + 1):
            for bench in rounds:  # alternate servers so drift on the machine weighs on both
                sample = with_cpu(bench.target.process.pid, bench.measure)
                samples[bench.target.name].append(sample)
                print(
                    f"round {round_number} {bench.target.name:<8} {sample.requests_per_second:>8,.0f} req/s  "
                    f"p50 {sample.p50_ms:6.2f} ms  p99 {sample.p99_ms:6.2f} ms  "
                    f"server CPU {sample.server_cpu_us:5,.0f} µs/req",
                    flush=True,
                )
    report(samples, args, settled)


if __name__ == "__main__":
    main()
