"""The built-in `mlp` trained data-parallel by two gloo members against one member on all the rows.

Two shards that each hold ~95% of one class (as `ShardedByS3Key` would hand two VMs two lopsided files),
a balanced validation set. Three runs, each member a process of its own meeting on loopback as the
process executor's VMs do: one member on all rows (mini-batch 2b), two members on one shard each
(mini-batch b, so the same effective batch), and one member on one shard alone. Reported side by side:
training seconds (after the team has met), the time to meet (torch import and gloo rendezvous), and the
final validation accuracy.

    .venv/bin/python bench/data_parallel.py [--rows 20000] [--epochs 5] [--batch-size 64] [--repeats 3]

Needs the `distributed` extra (PyTorch) for the two-member run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.runtime import contract, rendezvous
from app.training import mlp
from app.training.context import Channel, TrainContext
from app.training.stop import StopFlag
from app.training.team import joined


def _shard(rng: np.random.Generator, rows: int, share_of_1: float) -> np.ndarray:
    labels = (rng.random(rows) < share_of_1).astype(float)
    centers = np.array([[-1.0, 0.5, 0.0, 0.0], [1.0, -0.5, 0.0, 0.0]])
    return np.column_stack([labels, centers[labels.astype(int)] + rng.normal(0.0, 1.2, (rows, 4))])


def _write(root: Path, name: str, rows: np.ndarray) -> None:
    (root / name).mkdir(parents=True, exist_ok=True)
    np.savetxt(root / name / "part.csv", rows, delimiter=",", fmt="%.6f")


def _member(args: argparse.Namespace) -> None:
    """One member: join the team, train, print {meet, train, accuracy} as JSON (rank 0 only)."""
    hosts = contract.hostnames(args.size)
    spec = contract.VmSpec(
        job_name="bench",
        job_arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/bench",
        host=hosts[args.rank],
        hosts=hosts,
        instance_type="ml.m5.large",
        vcpus=1,
        memory_mib=8192,
    )
    root = Path(args.root)
    lines: list[str] = []
    started = time.perf_counter()
    with joined(spec, env=os.environ, signalled=StopFlag()) as (team, stop):
        met = time.perf_counter()
        channels = {
            name: Channel(name=name, path=root / name, distribution="ShardedByS3Key")
            for name in ("train", "validation")
        }
        hyperparameters = {"epochs": str(args.epochs), "mini_batch_size": str(args.batch_size)}
        (root / "model").mkdir(exist_ok=True)
        context = TrainContext(
            model_dir=root / "model",
            hyperparameters=hyperparameters,
            channels=channels,
            stop=stop,
            emit=lines.append,
            team=team,
        )
        mlp.train(context)
        trained = time.perf_counter()
    if args.rank == 0:
        accuracy = [
            float(f.split("=")[1]) for line in lines for f in line.split() if "validation:accuracy" in f
        ]
        print(json.dumps({"meet": met - started, "train": trained - met, "accuracy": accuracy[-1]}))


def _run(roots: list[Path], *, batch: int, epochs: int) -> dict[str, float]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **rendezvous.on_loopback(port).environment(), "OMP_NUM_THREADS": "1"}
    members = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                *("--member", str(rank), "--size", str(len(roots)), "--root", str(root)),
                *("--epochs", str(epochs), "--batch-size", str(batch)),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for rank, root in enumerate(roots)
    ]
    outputs = [member.communicate()[0] for member in members]
    assert all(member.returncode == 0 for member in members), outputs
    result: dict[str, float] = json.loads(outputs[0].strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000, help="rows per shard")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="per member; one member on all rows: 2x")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--member", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.member is not None:
        args.rank = args.member
        _member(args)
        return
    rng = np.random.default_rng(0)
    shards = [_shard(rng, args.rows, 0.05), _shard(rng, args.rows, 0.95)]
    validation = _shard(rng, 5000, 0.5)
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        for name, train in (("all", np.concatenate(shards)), ("vm0", shards[0]), ("vm1", shards[1])):
            _write(base / name, "train", train)
            _write(base / name, "validation", validation)
        runs: dict[str, list[dict[str, float]]] = {
            "one VM, all rows": [],
            "two VMs": [],
            "one shard alone": [],
        }
        for _ in range(args.repeats):
            runs["one VM, all rows"].append(
                _run([base / "all"], batch=2 * args.batch_size, epochs=args.epochs)
            )
            runs["two VMs"].append(
                _run([base / "vm0", base / "vm1"], batch=args.batch_size, epochs=args.epochs)
            )
            runs["one shard alone"].append(_run([base / "vm0"], batch=args.batch_size, epochs=args.epochs))
    _report(runs, rows=args.rows)


def _report(runs: dict[str, list[dict[str, Any]]], *, rows: int) -> None:
    medians = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("meet", "train", "accuracy")}
        for name, rs in runs.items()
    }
    base = medians["one VM, all rows"]
    print(f"mlp, {2 * rows} rows in two lopsided shards; medians of {len(next(iter(runs.values())))} runs")
    print(f"{'run':<18} {'meet s':>8} {'train s':>8} {'x one VM':>9} {'val. accuracy':>14} {'- one VM':>9}")
    for name, m in medians.items():
        ratio = m["train"] / base["train"]
        gap = m["accuracy"] - base["accuracy"]
        timing = f"{m['meet']:>8.2f} {m['train']:>8.2f} {ratio:>9.2f}"
        print(f"{name:<18} {timing} {m['accuracy']:>14.4f} {gap:>+9.4f}")


if __name__ == "__main__":
    main()
