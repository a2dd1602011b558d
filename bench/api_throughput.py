"""SageMaker API throughput and latency: sagelite vs moto's SageMaker emulation, side by side.

    .venv/bin/python bench/api_throughput.py [--jobs 200] [--seconds 2] [--rounds 3] [--clients 16]

Starts `sagelite serve` and `moto_server` (both from this interpreter's bin folder) as subprocesses on
free loopback ports, seeds each with the same `--jobs` training jobs, then measures for each server:

- DescribeTrainingJob and CreateTrainingJob with one boto3 client calling in a loop;
- the same with `--clients` concurrent httpx clients (one thread and one keep-alive connection each)
  sending the JSON body with `X-Amz-Target` and a well-formed but unsigned SigV4 `Authorization`
  header (moto routes on its credential scope; neither server checks signatures).

Each cell runs `--seconds` and is repeated `--rounds` times; the table shows the medians of requests/s
and of the p50 / p99 latencies, and the ratio sagelite / moto, next to the goals.

sagelite runs jobs for real. So that training processes do not compete with the API for the CPU, its
pool is one host with room for a single ml.m5.large, which a job paused mid-training holds (through
`POST /v1/vms/{id}/pause`: SIGSTOP). Every other job waits in the queue, as on a busy pool: the seeded
ones are stopped at once, and those each Create round adds are stopped after the round, untimed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.client.auth import SigV4Auth  # noqa: E402
from app.client.sigv4 import Credentials  # noqa: E402
from tests.support.server import free_port  # noqa: E402

BIN = Path(sys.executable).parent
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
# Every raw request is signed as the loopback root key, as boto3's are: sagelite verifies each one.
AUTH = SigV4Auth(Credentials("test", "test"))
HOST = {"name": "bench-host", "vcpus": 2, "memory_gib": 8, "gpus": 0, "disk_gib": 1000}
TERMINAL = ("Completed", "Failed", "Stopped")
BLOCKER = "bench-blocker"
GOALS = (  # (scenario, what, goal)
    ("Describe, 16 httpx clients", "ratio", 10.0),
    ("Describe, 1 boto3 client", "ratio", 5.0),
    ("Describe, 16 httpx clients", "p99", 20.0),
)


def create_request(name: str) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {"TrainingImage": "mlp", "TrainingInputMode": "File"},
        "HyperParameters": {"epochs": "5", "hidden_layers": "64,32"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/train/"}},
                "ContentType": "text/csv",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bench/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": [{"Key": "bench", "Value": "api"}],
    }


# -- servers ---------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    runs_jobs: bool


@contextmanager
def launched(
    name: str, command: list[str], port: int, log: Path, env: dict[str, str], runs_jobs: bool
) -> Iterator[Target]:
    """Run `command` in its own process group until it answers on `port`; kill the group on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )
    target = Target(name=name, url=f"http://127.0.0.1:{port}", process=process, runs_jobs=runs_jobs)
    try:
        wait_listening(target, log)
        yield target
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


def wait_listening(target: Target, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise RuntimeError(f"{target.name} exited early:\n{log.read_text()}")
        try:
            httpx.post(target.url, headers=headers("ListTrainingJobs"), content=b"{}", timeout=1.0, auth=AUTH)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{target.name} did not answer within {timeout}s:\n{log.read_text()}")


@contextmanager
def pool_held(target: Target, work: Path) -> Iterator[None]:
    """Fill sagelite's only slot with a job paused mid-training; resume and stop it on exit."""
    data = work / "blocker"
    data.mkdir()
    (data / "train.csv").write_text("".join(f"{i % 2},{i % 7 / 7:.3f},{i % 5 / 5:.3f}\n" for i in range(64)))
    client = boto_client(target.url)
    request = create_request(BLOCKER)
    request["HyperParameters"] = {"epochs": "10000000", "hidden_layers": "4", "mini_batch_size": "16"}
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"file://{data}"
    client.create_training_job(**request)
    vm = running_vm(target.url, BLOCKER)
    paused = httpx.post(f"{target.url}/v1/vms/{vm}/pause", auth=AUTH)
    assert paused.status_code == 200, paused.text
    try:
        yield
    finally:
        httpx.post(f"{target.url}/v1/vms/{vm}/resume", auth=AUTH)
        settle(client, [BLOCKER])


def running_vm(url: str, job: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        vms = httpx.get(f"{url}/v1/vms", params={"job": job}, auth=AUTH).json()["vms"]
        if vms and vms[0]["state"] == "Running":
            vm: str = vms[0]["id"]
            return vm
        time.sleep(0.1)
    raise TimeoutError(f"{job} did not start within {timeout}s")


def sagelite(work: Path) -> Any:
    hosts = work / "hosts.json"
    hosts.write_text(json.dumps([HOST]))
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "app",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(work / "sagelite"),
    ]
    env = {
        "SAGELITE_HOSTS_FILE": str(hosts),
        "SAGELITE_STOP_GRACE_SECONDS": "1",
        "SAGELITE_LOG_LEVEL": "warning",
        # The benchmark measures the API, not the per-key rate limit (which would cap one key at 200/s).
        "SAGELITE_THROTTLE_RATE_PER_SECOND": "1000000",
        "SAGELITE_THROTTLE_BURST": "1000000",
    }
    return launched("sagelite", command, port, work / "sagelite.log", env, runs_jobs=True)


def moto(work: Path) -> Any:
    port = free_port()
    command = [str(BIN / "moto_server"), "-p", str(port)]
    return launched("moto", command, port, work / "moto.log", {}, runs_jobs=False)


# -- clients ---------------------------------------------------------------------------------------


def boto_client(url: str) -> Any:
    config = Config(retries={"max_attempts": 1}, max_pool_connections=32)
    return boto3.client("sagemaker", endpoint_url=url, config=config, **CREDENTIALS)


def headers(operation: str) -> dict[str, str]:
    return {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"SageMaker.{operation}",
    }


def seed(target: Target, names: list[str]) -> None:
    """Create the jobs; on a server that runs them, stop each at once and wait until all are Stopped."""
    client = boto_client(target.url)

    def one(name: str) -> None:
        client.create_training_job(**create_request(name))
        if target.runs_jobs:
            stop_quietly(client, name)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, names))
    if target.runs_jobs:
        settle(client, names)


def settle(client: Any, names: list[str], timeout: float = 60.0) -> None:
    """Stop whatever of `names` still runs and wait until every one is terminal."""
    deadline = time.monotonic() + timeout
    pending = set(names)
    with ThreadPoolExecutor(max_workers=8) as pool:
        while pending:
            statuses = dict(zip(pending, pool.map(lambda n: status_of(client, n), pending), strict=True))
            pending = {n for n, s in statuses.items() if s not in TERMINAL}
            list(
                pool.map(
                    lambda n: stop_quietly(client, n), [n for n in pending if statuses[n] == "InProgress"]
                )
            )
            if time.monotonic() > deadline:
                stuck = {n: client.describe_training_job(TrainingJobName=n) for n in sorted(pending)[:3]}
                shown = {n: [t["Status"] for t in d["SecondaryStatusTransitions"]] for n, d in stuck.items()}
                raise TimeoutError(f"{len(pending)} jobs not finished after {timeout}s: {shown}")
            time.sleep(0.1 if pending else 0)


def status_of(client: Any, name: str) -> str:
    status: str = client.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
    return status


def stop_quietly(client: Any, name: str) -> None:
    with contextlib.suppress(client.exceptions.ClientError):  # it finished meanwhile
        client.stop_training_job(TrainingJobName=name)


# -- measurement -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    server_cpu_us: float = 0.0  # server process CPU time (all its threads) per request
    client_cpu_us: float = 0.0  # this process's CPU time per request: what the clients cost


def summarize(latencies: list[float], elapsed: float) -> Sample:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Sample(len(ordered) / elapsed, statistics.median(ordered) * 1000, p99 * 1000, len(ordered))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` and all its threads, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_cpu(pid: int, measure: Callable[[], Sample]) -> Sample:
    server, client = cpu_seconds(pid), time.process_time()
    sample = measure()
    server, client = cpu_seconds(pid) - server, time.process_time() - client
    per_request = 1e6 / max(sample.requests, 1)
    return dataclasses.replace(sample, server_cpu_us=server * per_request, client_cpu_us=client * per_request)


def boto_loop(call: Callable[[int], None], seconds: float) -> Sample:
    """One client calling back to back for `seconds`."""
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    for index in itertools.count():
        before = time.perf_counter()
        if before >= deadline:
            break
        call(index)
        latencies.append(time.perf_counter() - before)
    return summarize(latencies, time.perf_counter() - start)


def httpx_clients(
    url: str, operation: str, body_for: Callable[[int, int], bytes], clients: int, seconds: float
) -> Sample:
    """`clients` threads, each with its own keep-alive connection, posting back to back for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    window: dict[str, float] = {}
    # The window opens when the last connection is ready, however long opening them took.
    ready = threading.Barrier(
        clients + 1, action=lambda: window.update(deadline=time.perf_counter() + seconds)
    )
    request_headers = headers(operation)

    def worker(slot: int) -> None:
        with httpx.Client(base_url=url, headers=request_headers, timeout=30.0, auth=AUTH) as http:
            http.post("/", content=body_for(slot, -1))  # open the connection before the clock starts
            ready.wait()
            mine = latencies[slot]
            deadline = window["deadline"]
            for index in itertools.count():
                before = time.perf_counter()
                if before >= deadline:
                    return
                response = http.post("/", content=body_for(slot, index))
                mine.append(time.perf_counter() - before)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    return

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{operation} failed: {failures[0]}")
    return summarize([x for mine in latencies for x in mine], elapsed)


class Bench:
    def __init__(self, target: Target, names: list[str], clients: int, seconds: float) -> None:
        self.target = target
        self.names = names
        self.clients = clients
        self.seconds = seconds
        self.boto = boto_client(target.url)
        self.created: list[str] = []
        self._bodies = [json.dumps({"TrainingJobName": n}).encode() for n in names]
        self._round = 0

    def describe_boto3(self) -> Sample:
        names = self.names
        return boto_loop(
            lambda i: self.boto.describe_training_job(TrainingJobName=names[i % len(names)]), self.seconds
        )

    def describe_httpx(self) -> Sample:
        bodies = self._bodies
        stride = len(bodies) // self.clients or 1
        return httpx_clients(
            self.target.url,
            "DescribeTrainingJob",
            lambda slot, i: bodies[(slot * stride + i) % len(bodies)],
            self.clients,
            self.seconds,
        )

    def create_boto3(self) -> Sample:
        self._round += 1
        prefix = f"boto-r{self._round}"

        def call(index: int) -> None:
            name = f"{prefix}-{index}"
            self.boto.create_training_job(**create_request(name))
            self.created.append(name)

        return boto_loop(call, self.seconds)

    def create_httpx(self) -> Sample:
        prefix = f"httpx-r{self._round}"

        def body(slot: int, index: int) -> bytes:
            name = f"{prefix}-c{slot}-{index + 1}"
            self.created.append(name)
            return json.dumps(create_request(name)).encode()

        return httpx_clients(self.target.url, "CreateTrainingJob", body, self.clients, self.seconds)

    def clean_up(self) -> None:
        """Stop what this round's Creates queued, so it does not run during the next round."""
        if self.target.runs_jobs and self.created:
            settle(self.boto, self.created)
        self.created = []


SCENARIOS: list[tuple[str, Callable[[Bench], Sample]]] = [
    ("Describe, 1 boto3 client", Bench.describe_boto3),
    ("Describe, 16 httpx clients", Bench.describe_httpx),
    ("Create, 1 boto3 client", Bench.create_boto3),
    ("Create, 16 httpx clients", Bench.create_httpx),
]


def median_sample(samples: list[Sample]) -> Sample:
    return Sample(
        requests_per_second=statistics.median(s.requests_per_second for s in samples),
        p50_ms=statistics.median(s.p50_ms for s in samples),
        p99_ms=statistics.median(s.p99_ms for s in samples),
        requests=sum(s.requests for s in samples),
        server_cpu_us=statistics.median(s.server_cpu_us for s in samples),
        client_cpu_us=statistics.median(s.client_cpu_us for s in samples),
    )


def cells(sample: Sample) -> str:
    return (
        f"{sample.requests_per_second:>8,.0f}{sample.p50_ms:>9.2f}{sample.p99_ms:>9.2f}"
        f"{sample.server_cpu_us:>7,.0f}{sample.client_cpu_us:>7,.0f}"
    )


def report(results: dict[str, dict[str, list[Sample]]], args: argparse.Namespace) -> None:
    print(
        f"\nmedians of {args.rounds} rounds of {args.seconds:g} s; {args.jobs} seeded jobs; "
        f"{os.cpu_count()} CPUs, shared by the clients and the server under test; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        "req/s; p50 and p99 latency in ms; CPU µs per request in the server (srv) and in the clients (cli)\n"
    )
    columns = f"{'req/s':>8}{'p50':>9}{'p99':>9}{'srv':>7}{'cli':>7}"
    print(f"{'':<28}|{'sagelite':^40}|{'moto':^40}|")
    print(f"{'scenario':<28}|{columns}|{columns}|{'ratio':>7}")
    print("-" * 116)
    medians: dict[str, tuple[Sample, Sample]] = {}
    for scenario, _ in SCENARIOS:
        ours, theirs = median_sample(results["sagelite"][scenario]), median_sample(results["moto"][scenario])
        medians[scenario] = (ours, theirs)
        ratio = ours.requests_per_second / theirs.requests_per_second
        label = scenario.replace("16", str(args.clients))
        print(f"{label:<28}|{cells(ours)}|{cells(theirs)}|{ratio:>6.1f}x")
    print("\ngoals")
    for scenario, what, goal in GOALS:
        ours, theirs = medians[scenario]
        if what == "ratio":
            value = ours.requests_per_second / theirs.requests_per_second
            line, met = f"{scenario}: {value:.1f}x moto (goal >= {goal:g}x)", value >= goal
        else:
            line, met = f"{scenario}: p99 {ours.p99_ms:.2f} ms (goal < {goal:g} ms)", ours.p99_ms < goal
        print(f"  [{'met ' if met else 'MISS'}] {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200, help="jobs seeded on each server")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16, help="concurrent httpx clients")
    args = parser.parse_args()
    names = [f"bench-job-{index:05d}" for index in range(args.jobs)]
    results: dict[str, dict[str, list[Sample]]] = {"sagelite": {}, "moto": {}}
    with (
        tempfile.TemporaryDirectory(prefix="sagelite-bench-") as work,
        sagelite(Path(work)) as ours,
        moto(Path(work)) as theirs,
        pool_held(ours, Path(work)),
    ):
        benches = [Bench(target, names, args.clients, args.seconds) for target in (ours, theirs)]
        for bench in benches:
            started = time.perf_counter()
            seed(bench.target, names)
            print(f"seeded {len(names)} jobs on {bench.target.name} in {time.perf_counter() - started:.1f} s")
        for round_number in range(1, args.rounds + 1):
            for scenario, measure in SCENARIOS:
                for bench in benches:  # alternate servers so drift on the machine weighs on both
                    sample = with_cpu(bench.target.process.pid, functools.partial(measure, bench))
                    results[bench.target.name].setdefault(scenario, []).append(sample)
                    print(
                        f"round {round_number} {bench.target.name:<8} {scenario:<28} "
                        f"{sample.requests_per_second:>8,.0f} req/s  p50 {sample.p50_ms:6.2f} ms  "
                        f"p99 {sample.p99_ms:6.2f} ms  server CPU {sample.server_cpu_us:5,.0f} µs/req",
                        flush=True,
                    )
            for bench in benches:
                bench.clean_up()
    report(results, args)


if __name__ == "__main__":
    main()
