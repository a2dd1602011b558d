"""Hostile jobs against the real server: a regex built to backtrack, gigabytes without a newline, a log
past its cap. The API must stay responsive and the server's memory flat (bounds are 10x the goals)."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import sagemaker_client
from tests.support.jobs import entrypoint_job, wait_terminal
from tests.support.polling import wait_until
from tests.support.server import ROOT_AUTH, Server, running_server

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
ACCOUNT = "123456789012"  # the root key's account, whose jobs these are
HUGE_LINE_BYTES = 300 * MIB  # bench/hostile_jobs.py runs the 1.5 GB
LOG_CAP_BYTES = 512 * MIB  # above the huge line, so all of it is kept and read back

# A 30-character line: `re` needs seconds on it and twice as long per extra character.
EVIL_SCRIPT = """
import time
for epoch in range(60):
    print("loss=" + "a" * 24 + "!", flush=True)
    print(f"epoch {epoch % 10} loss={1 / (epoch + 1):.4f} acc=0.{epoch:02d}", flush=True)
    time.sleep(0.05)
"""

HUGE_LINE_SCRIPT = """
import sys, time
chunk = b"a" * (1 << 20)
for _ in range({mib}):
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.write(b"\\nloss=1.5\\n")
sys.stdout.flush()
time.sleep(1)
"""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    env = {
        "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "SAGELITE_STOP_GRACE_SECONDS": "2",
        "SAGELITE_MAX_LOG_BYTES_PER_VM": str(LOG_CAP_BYTES),
    }
    with running_server(tmp_path / "data", env=env) as server:
        yield server


def wait_training(client: Any, name: str) -> None:
    wait_until(
        lambda: client.describe_training_job(TrainingJobName=name)["SecondaryStatus"],
        until=lambda secondary: secondary in ("Training", "Uploading", "Completed", "Failed"),
        what=f"{name} to be training",
    )


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def healthz_latencies(server: Server, *, until: threading.Event) -> list[float]:
    latencies = []
    with httpx.Client(base_url=server.url) as http:
        while not until.is_set():
            started = time.perf_counter()
            assert http.get("/healthz", timeout=30).status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.01)
    return latencies


def healthz_while_job_runs(server: Server, client: Any, name: str) -> tuple[dict[str, Any], list[float]]:
    """Probe /healthz from the job's Training until its end: (the ended job, the latencies)."""
    wait_training(client, name)
    done = threading.Event()
    latencies: list[float] = []
    probe = threading.Thread(target=lambda: latencies.extend(healthz_latencies(server, until=done)))
    probe.start()
    try:
        job = wait_terminal(client, name)
    finally:
        done.set()
        probe.join()
    return job, latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def test_a_pathological_metric_regex_leaves_the_api_responsive_and_metrics_working(live: Server) -> None:
    client = sagemaker_client(live.url)
    metrics = {
        "evil": r"loss=((a+)+)$",  # RE2: linear time
        "evil-lookaround": r"(?=l)loss=((a|a)+)$",  # RE2 refuses it: the time budget holds it
        "loss": r"loss=([0-9.]+)",
        "acc": r"(?<=epoch \d )loss=[0-9.]+ acc=([0-9.]+)",  # a lookaround that works
    }
    client.create_training_job(**entrypoint_job("evil-regex", EVIL_SCRIPT, metrics=metrics))
    job, latencies = healthz_while_job_runs(live, client, "evil-regex")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert len(latencies) > 50
    assert p99(latencies) < 0.5, f"/healthz p99 {p99(latencies) * 1000:.0f} ms while the job ran"
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final == {"loss": pytest.approx(1 / 60, abs=1e-4), "acc": 0.59}
    series = httpx.get(f"{live.url}/v1/training-jobs/evil-regex/metrics", auth=ROOT_AUTH).json()["metrics"]
    assert len(series["loss"]) == 60 and len(series["acc"]) == 60


def test_a_huge_line_without_newline_is_streamed_back_with_flat_server_memory(live: Server) -> None:
    client = sagemaker_client(live.url)
    mib = HUGE_LINE_BYTES // MIB
    request = entrypoint_job(
        "huge-line", HUGE_LINE_SCRIPT.format(mib=mib), metrics={"loss": r"loss=([0-9.]+)"}
    )
    baseline = rss_bytes(live.process.pid)
    client.create_training_job(**request)
    wait_training(client, "huge-line")
    peak = baseline
    received = 0
    url = f"{live.url}/v1/training-jobs/huge-line/logs"
    with httpx.stream("GET", url, params={"follow": "true"}, timeout=60, auth=ROOT_AUTH) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += len(chunk)
            peak = max(peak, rss_bytes(live.process.pid))
    growth = peak - baseline
    assert growth < 100 * MIB, f"the server grew by {growth / MIB:.0f} MiB while the log was read"
    job = wait_terminal(client, "huge-line")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    pieces = -(-HUGE_LINE_BYTES // (256 * 1024))  # the line comes back in pieces of 256 KiB
    assert received == HUGE_LINE_BYTES + pieces * len("[algo-1] \n") + len("[algo-1] loss=1.5\n")
    assert [m["Value"] for m in job["FinalMetricDataList"]] == [1.5]


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[Server]:
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2", "SAGELITE_MAX_LOG_BYTES_PER_VM": str(MIB)}
    with running_server(tmp_path / "data", env=env) as server:
        yield server


def test_output_past_the_per_vm_cap_is_cut_and_marked_and_the_job_goes_on(capped: Server) -> None:
    client = sagemaker_client(capped.url)
    script = HUGE_LINE_SCRIPT.format(mib=5).replace("time.sleep(1)", 'print("the end", flush=True)')
    client.create_training_job(**entrypoint_job("over-cap", script))
    job = wait_terminal(client, "over-cap")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    [log] = (capped.data_dir / "logs" / ACCOUNT / "over-cap").glob("*.log")
    marker = f"[sagelite] log truncated at {MIB} bytes".encode()
    assert MIB < log.stat().st_size < MIB + 200
    lines = httpx.get(f"{capped.url}/v1/training-jobs/over-cap/logs", auth=ROOT_AUTH).content.splitlines()
    assert lines[-1].startswith(b"[algo-1] " + marker)
    assert b"the end" not in lines[-1]
