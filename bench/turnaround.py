"""Turnaround and deadline overshoot of real jobs, against running the same program directly.

    .venv/bin/python bench/turnaround.py [--runs 15]

Each measured with the process executor and, where runc is usable, the OCI executor, side by side:
1. create → Completed wall time of a trivial script-mode job (boto3 over a socket, polling Describe
   every 10 ms) vs `python train.py` run directly: the overhead is the service's (goal p50 ≤ 250 ms
   with processes, ≤ 500 ms with OCI: runtime start, volume, network).
2. deadline overshoot: a job with MaxRuntimeInSeconds=1 whose script records when SIGTERM arrives;
   overshoot = SIGTERM time - (TrainingStartTime + 1 s) (goal p99 ≤ 1 s).
3. pause and resume of a running VM through the REST API (goal ≤ 100 ms each).
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

import httpx  # noqa: E402

from app.runtime.oci import runc  # noqa: E402
from tests.conftest import create_request, sagemaker_client  # noqa: E402
from tests.support.jobs import fetch_object, wait_terminal  # noqa: E402
from tests.support.polling import wait_until  # noqa: E402
from tests.support.server import ROOT_AUTH, Server, running_server  # noqa: E402

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
    isolations = ["process"] + (["oci"] if runc.usable("runc") is None else [])
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        trivial, sleeper = tmp / "trivial", tmp / "sleeper"
        for folder, body in ((trivial, TRIVIAL), (sleeper, SLEEPER)):
            folder.mkdir()
            (folder / "train.py").write_text(body)
        direct = direct_runs(trivial / "train.py", args.runs)
        measured = {
            isolation: measure(isolation, tmp, trivial=trivial, sleeper=sleeper, runs=args.runs)
            for isolation in isolations
        }
    report(direct, measured)


def measure(isolation: str, tmp: Path, *, trivial: Path, sleeper: Path, runs: int) -> dict[str, list[float]]:
    """create → Completed, deadline overshoot, and pause / resume round trips, on one executor."""
    env = {
        "SAGELITE_STOP_GRACE_SECONDS": "2",
        "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "1",
        "SAGELITE_ISOLATION": isolation,
    }
    with running_server(tmp / f"data-{isolation}", env=env) as server:
        client = sagemaker_client(server.url)
        service = []
        for index in range(runs):
            start = time.perf_counter()
            client.create_training_job(**script_job(f"trivial-{index}", trivial))
            job = wait_terminal(client, f"trivial-{index}", interval=0.01)
            service.append(time.perf_counter() - start)
            assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        overshoots = []
        for index in range(max(3, runs // 3)):
            name = f"deadline-{index}"
            client.create_training_job(
                **script_job(name, sleeper, StoppingCondition={"MaxRuntimeInSeconds": 1})
            )
            job = wait_terminal(client, name, interval=0.01)
            term = sigterm_time(server, job, tmp)
            if term is not None:  # None: SIGTERM came before the script could install its handler
                overshoots.append(term - (job["TrainingStartTime"].timestamp() + 1))
        pauses, resumes = pause_round_trips(server, client, sleeper, runs)
    return {"create→Completed": service, "deadline overshoot": overshoots, "pause": pauses, "resume": resumes}


def pause_round_trips(
    server: Server, client: Any, sleeper: Path, runs: int
) -> tuple[list[float], list[float]]:
    """POST pause and resume of a running VM: each answers once the VM is frozen or thawed."""
    client.create_training_job(**script_job("pausable", sleeper))
    [vm] = wait_until(
        lambda: httpx.get(f"{server.url}/v1/vms", params={"job": "pausable"}, auth=ROOT_AUTH).json()["vms"],
        until=lambda vms: vms and vms[0]["state"] == "Running",
        what="the pausable VM to run",
    )
    pauses, resumes = [], []
    with httpx.Client(base_url=server.url, auth=ROOT_AUTH) as http:
        for _ in range(runs):
            for action, times in (("pause", pauses), ("resume", resumes)):
                start = time.perf_counter()
                assert http.post(f"/v1/vms/{vm['id']}/{action}").status_code == 200
                times.append(time.perf_counter() - start)
    client.stop_training_job(TrainingJobName="pausable")
    wait_terminal(client, "pausable")
    return pauses, resumes


def report(direct: list[float], measured: dict[str, dict[str, list[float]]]) -> None:
    isolations = list(measured)
    header = "".join(f"{isolation + ' p50':>14}{isolation + ' p99':>14}" for isolation in isolations)
    print(f"{'ms':28}{header}{'oci/process p50':>18}")
    overhead = {
        i: [s - statistics.median(direct) for s in m["create→Completed"]] for i, m in measured.items()
    }
    rows = {label: {i: measured[i][label] for i in isolations} for label in measured[isolations[0]]}
    rows["overhead (minus direct run)"] = overhead
    rows["direct python train.py"] = {i: direct for i in isolations}
    for label, by_isolation in rows.items():
        cells = "".join(
            f"{percentile(v, 0.5) * 1e3:14.0f}{percentile(v, 0.99) * 1e3:14.0f}" if v else f"{'-':>14}" * 2
            for v in by_isolation.values()
        )
        ratio = ""
        if "oci" in by_isolation and by_isolation["oci"] and by_isolation["process"]:
            oci, process = (percentile(by_isolation[i], 0.5) for i in ("oci", "process"))
            ratio = f"{oci / process:17.2f}x" if process > 0 else f"{'-':>18}"
        print(f"{label:28}{cells}{ratio}")
    print(
        "\ngoals: overhead p50 ≤ 250 ms (process), ≤ 500 ms (oci); pause, resume ≤ 100 ms;"
        " overshoot p99 ≤ 1 s"
    )


def sigterm_time(server: Server, job: dict[str, Any], tmp: Path) -> float | None:
    tarball = fetch_object(server, job["ModelArtifacts"]["S3ModelArtifacts"], tmp / "m.tgz")
    with tarfile.open(tarball) as archive:
        if "term.json" not in archive.getnames():
            return None
        member = archive.extractfile("term.json")
        assert member is not None
        return float(member.read())


if __name__ == "__main__":
    main()
