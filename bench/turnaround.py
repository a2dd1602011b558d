"""Turnaround and deadline overshoot of real jobs, against running the same program directly.

    .venv/bin/python bench/turnaround.py [--runs 15]

1. create → Completed wall time of a trivial script-mode job (boto3 over a socket, polling Describe
   every 10 ms) vs `python train.py` run directly: the overhead is the service's (goal p50 ≤ 250 ms).
2. deadline overshoot: a job with MaxRuntimeInSeconds=1 whose script records when SIGTERM arrives;
   overshoot = SIGTERM time - (TrainingStartTime + 1 s) (goal p99 ≤ 1 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import create_request, sagemaker_client  # noqa: E402
from tests.support.jobs import fetch_object, wait_terminal  # noqa: E402
from tests.support.server import Server, running_server  # noqa: E402

TRIVIAL = "import os\nopen(os.path.join(os.environ.get('SM_MODEL_DIR', '.'), 'done'), 'w').write('ok')\n"
SLEEPER = """
import os, signal, sys, time
def on_term(*_):
    open(os.path.join(os.environ["SM_MODEL_DIR"], "term.json"), "w").write(str(time.time()))
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
time.sleep(600)
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def script_job(name: str, source: Path, **overrides: Any) -> dict[str, Any]:
    return create_request(
        name,
        AlgorithmSpecification={"TrainingImage": "bench/script:1", "TrainingInputMode": "File"},
        HyperParameters={
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps(f"file://{source}"),
        },
        **overrides,
    )


def direct_runs(script: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, str(script)], check=True, cwd=script.parent)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        trivial, sleeper = tmp / "trivial", tmp / "sleeper"
        for folder, body in ((trivial, TRIVIAL), (sleeper, SLEEPER)):
            folder.mkdir()
            (folder / "train.py").write_text(body)
        env = {"SAGELITE_STOP_GRACE_SECONDS": "2", "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "1"}
        with running_server(tmp / "data", env=env) as server:
            client = sagemaker_client(server.url)
            service = []
            for index in range(args.runs):
                start = time.perf_counter()
                client.create_training_job(**script_job(f"trivial-{index}", trivial))
                job = wait_terminal(client, f"trivial-{index}", interval=0.01)
                service.append(time.perf_counter() - start)
                assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
            direct = direct_runs(trivial / "train.py", args.runs)
            overshoots = []
            for index in range(max(3, args.runs // 3)):
                name = f"deadline-{index}"
                client.create_training_job(
                    **script_job(name, sleeper, StoppingCondition={"MaxRuntimeInSeconds": 1})
                )
                job = wait_terminal(client, name, interval=0.01)
                overshoots.append(sigterm_time(server, job, tmp) - (job["TrainingStartTime"].timestamp() + 1))
    overhead = [s - statistics.median(direct) for s in service]
    rows = {
        "service create→Completed": service,
        "direct python train.py": direct,
        "overhead (service - direct)": overhead,
        "deadline overshoot": overshoots,
    }
    print(f"{'':28}{'p50 ms':>10}{'p99 ms':>10}")
    for label, values in rows.items():
        print(f"{label:28}{percentile(values, 0.5) * 1e3:10.0f}{percentile(values, 0.99) * 1e3:10.0f}")
    ratio = percentile(service, 0.5) / percentile(direct, 0.5)
    print(f"\nratio service/direct p50: {ratio:.1f}x (goal: overhead p50 ≤ 250 ms, overshoot p99 ≤ 1000 ms)")


def sigterm_time(server: Server, job: dict[str, Any], tmp: Path) -> float:
    tarball = fetch_object(server, job["ModelArtifacts"]["S3ModelArtifacts"], tmp / "m.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("term.json")
        assert member is not None
        return float(member.read())


if __name__ == "__main__":
    main()
