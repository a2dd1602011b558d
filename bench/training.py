"""The numpy `mlp` against the same network and optimizer in PyTorch on CPU.

Same synthetic tabular data (rows x 20 features, a nonlinear boundary), same layers
(Dense 64 relu, Dense 32 relu, Dense 1 sigmoid), same initial weights, Adam with the same settings,
same batch size and epochs, a fresh shuffle per epoch on both sides. Timed: the training epochs only
(data already in memory). Each implementation runs in a process of its own, once with one thread and
once with one per CPU (thread caps set as a training VM sets them); each side is compared at its faster
setting. Reported: median samples/s and final validation accuracy over the repetitions.

    .venv/bin/python bench/training.py [--rows 50000] [--epochs 10] [--batch-size 128] [--repeats 3]

PyTorch is not a project dependency: without it the script says so and reports numpy alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.training import mlp
from app.training.context import StopFlag
from app.training.optim import Adam

FEATURES = 20
HIDDEN = (64, 32)


@dataclass(frozen=True)
class Run:
    samples_per_second: float
    accuracy: float


def make_data(rows: int, seed: int) -> tuple[mlp.Problem, mlp.Problem]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, FEATURES)).astype(np.float32)
    signal = x[:, 0] * x[:, 1] + np.sin(2 * x[:, 2]) + 0.5 * x[:, 3] - 0.3 * x[:, 4] ** 2
    y = (signal + 0.3 * rng.standard_normal(rows) > 0).astype(np.float32)[:, None]
    split = int(rows * 0.8)
    classes = np.array([0.0, 1.0])
    return mlp.Problem(x[:split], y[:split], classes), mlp.Problem(x[split:], y[split:], classes)


def numpy_run(train: mlp.Problem, valid: mlp.Problem, args: argparse.Namespace, seed: int) -> Run:
    rng = np.random.default_rng(seed)
    network = mlp.Network([FEATURES, *HIDDEN, 1], rng)
    optimizer = Adam(network.params.values.size, lr=args.learning_rate)
    stop = StopFlag()
    start = time.perf_counter()
    for _ in range(args.epochs):
        mlp.run_epoch(network, optimizer, train, batch=args.batch_size, rng=rng, stop=stop)
    elapsed = time.perf_counter() - start
    return Run(train.x.shape[0] * args.epochs / elapsed, mlp.evaluate(network, valid)[1])


def torch_run(torch: Any, train: mlp.Problem, valid: mlp.Problem, args: argparse.Namespace, seed: int) -> Run:
    reference = mlp.Network([FEATURES, *HIDDEN, 1], np.random.default_rng(seed))  # the same initial weights
    layers: list[Any] = []
    for index, (weight, bias) in enumerate(zip(reference.weights, reference.biases, strict=True)):
        linear = torch.nn.Linear(*weight.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight.T.copy()))
            linear.bias.copy_(torch.from_numpy(bias.copy()))
        layers += [linear, torch.nn.ReLU()] if index < len(reference.weights) - 1 else [linear]
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    x, y = torch.from_numpy(train.x), torch.from_numpy(train.target)
    generator = torch.Generator().manual_seed(seed)
    rows, batch = x.shape[0], args.batch_size
    start = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(rows, generator=generator)
        xs, ys = x[order], y[order]
        for begin in range(0, rows, batch):
            optimizer.zero_grad()
            loss = loss_fn(model(xs[begin : begin + batch]), ys[begin : begin + batch])
            loss.backward()
            optimizer.step()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        logits = model(torch.from_numpy(valid.x)).numpy()[:, 0]
    accuracy = float(np.mean((logits > 0) == (valid.target[:, 0] > 0.5)))
    return Run(rows * args.epochs / elapsed, accuracy)


def load_torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def child(args: argparse.Namespace) -> None:
    """One implementation at one thread count, in a process of its own: prints its runs as JSON."""
    train, valid = make_data(args.rows, seed=0)
    if args.impl == "numpy":
        runs = [numpy_run(train, valid, args, seed) for seed in range(args.repeats)]
    else:
        torch = load_torch()
        torch.set_num_threads(args.threads)
        runs = [torch_run(torch, train, valid, args, seed) for seed in range(args.repeats)]
    print(json.dumps([[run.samples_per_second, run.accuracy] for run in runs]))


def spawn(impl: str, threads: int, args: argparse.Namespace) -> Run:
    """Median of a child's runs; thread caps set in its environment as a training VM sets them."""
    caps = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
    env = {**os.environ, **dict.fromkeys(caps, str(threads))}
    options = [
        f"--{name.replace('_', '-')}={value}" for name, value in vars(args).items() if value is not None
    ]
    command = [sys.executable, __file__, *options, f"--impl={impl}", f"--threads={threads}"]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    runs = [Run(speed, accuracy) for speed, accuracy in json.loads(output.strip().splitlines()[-1])]
    return Run(
        statistics.median(r.samples_per_second for r in runs), statistics.median(r.accuracy for r in runs)
    )


def compare(args: argparse.Namespace) -> None:
    torch = load_torch()
    print(f"data: {args.rows} rows x {FEATURES} features (80/20 split); network {FEATURES}-64-32-1, Adam")
    print(
        f"epochs {args.epochs}, batch size {args.batch_size}, lr {args.learning_rate}, repeats {args.repeats}"
    )
    print(f"{'':10} {'threads':>7} {'samples/s':>12} {'val accuracy':>13}")
    impls = ["numpy"] + (["pytorch"] if torch is not None else [])
    best: dict[str, Run] = {}
    for impl in impls:
        for threads in sorted({1, os.cpu_count() or 1}):
            run = spawn(impl, threads, args)
            print(f"{impl:10} {threads:7} {run.samples_per_second:12,.0f} {run.accuracy:13.4f}")
            if impl not in best or run.samples_per_second > best[impl].samples_per_second:
                best[impl] = run
    if torch is None:
        print("PyTorch is not installed (pip install torch): no comparison, numpy results only")
        return
    ratio = best["numpy"].samples_per_second / best["pytorch"].samples_per_second
    points = 100 * (best["numpy"].accuracy - best["pytorch"].accuracy)
    print(f"torch {torch.__version__}; each side at its faster thread count:")
    print(f"numpy/pytorch samples/s: {ratio:.2f}x; validation accuracy difference: {points:+.2f} points")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--impl", choices=("numpy", "pytorch"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.impl:
        child(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
