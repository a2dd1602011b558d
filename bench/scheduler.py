"""Placement benchmark: VMs placed per second and decision latency by queue length and pool size.

    python bench/scheduler.py [--reps 7] [--seed 1]

Part 1 times `placement.decide` on pools of 10, 100 and 1,000 hosts that are already half busy
(running VMs with deadlines, scattered over every host) against queues of 100, 1,000 and 10,000
single-instance or multi-instance (2-8 VM gang) jobs of common training instance types. One
decision places what fits and classifies the rest. Every rep uses a fresh random pool and queue;
times are medians, and p50/p99 are taken over the reps (with a handful of reps, p99 is the maximum).

Part 2 isolates the cost of one placement as the pool grows: the same batch of 200 small VMs
is placed on half-busy pools of 10 to 10,000 hosts, timing only the per-job loop (sorting the hosts
and building the index is paid once per decision, not per placement). The cost is shown as a ratio
to the 10-host pool, next to log(hosts) / log(10).
"""

import argparse
import gc
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence

from app.hosts import instance_types
from app.scheduler import placement as pl

INSTANCE_TYPES = [  # weighted towards the small CPU types most training jobs ask for
    *["ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.xlarge", "ml.c5.2xlarge"] * 3,
    *["ml.m5.4xlarge", "ml.c5.4xlarge", "ml.r5.xlarge", "ml.r5.2xlarge", "ml.m5.12xlarge"],
    *["ml.g4dn.xlarge", "ml.g5.xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge", "ml.g5.12xlarge"],
]
HOST_TYPES = [  # (vcpus, memory GiB, gpus, disk GiB): two CPU host sizes and a GPU host
    pl.Resources(48, 192, 0, 2000),
    pl.Resources(96, 384, 0, 4000),
    pl.Resources(192, 768, 8, 8000),
]
NOW = 1_000_000.0
MIN_SECONDS_PER_CELL = 1.0


def make_pool(rng: random.Random, n_hosts: int, busy: float = 0.5) -> list[pl.HostSnapshot]:
    """`n_hosts` hosts, each with running VMs filling about `busy` of its vCPUs, ending at random times."""
    return [_busy_host(rng, f"host-{i:05d}", HOST_TYPES[i % len(HOST_TYPES)], busy) for i in range(n_hosts)]


def _busy_host(rng: random.Random, name: str, capacity: pl.Resources, busy: float) -> pl.HostSnapshot:
    running: list[pl.RunningVm] = []
    free = capacity
    while free.vcpus > capacity.vcpus * (1 - busy):
        shape = instance_types.shape_for(rng.choice(INSTANCE_TYPES))
        vm = pl.Resources(shape.vcpus, shape.memory_gib, shape.gpus, 30)
        left = pl.Resources(*(f - u for f, u in zip(free.as_tuple(), vm.as_tuple(), strict=True)))
        if min(left.as_tuple()) < 0:
            break
        running.append(pl.RunningVm(vm, NOW + rng.uniform(60, 86_400)))
        free = left
    return pl.HostSnapshot(name, capacity, free, tuple(running))


def make_queue(rng: random.Random, n_jobs: int, *, multi: bool) -> list[pl.Demand]:
    return [
        pl.Demand(
            job_key=f"job-{i:06d}",
            shape=instance_types.shape_for(rng.choice(INSTANCE_TYPES)),
            instance_count=rng.randint(2, 8) if multi else 1,
            disk_gib=30,
            max_runtime_seconds=rng.uniform(600, 86_400),
        )
        for i in range(n_jobs)
    ]


def timed(fn: Callable[[], pl.Decision]) -> tuple[float, pl.Decision]:
    gc.collect()
    start = time.perf_counter()
    decision = fn()
    return time.perf_counter() - start, decision


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def bench_cell(rng: random.Random, n_hosts: int, n_jobs: int, *, multi: bool, reps: int) -> dict[str, float]:
    """Decide `reps` fresh (pool, queue) pairs, at least MIN_SECONDS_PER_CELL worth; medians and tails."""
    times: list[float] = []
    placed: list[int] = []
    while len(times) < reps or (sum(times) < MIN_SECONDS_PER_CELL and len(times) < 100):
        hosts, queue = make_pool(rng, n_hosts), make_queue(rng, n_jobs, multi=multi)
        seconds, decision = timed(lambda h=hosts, q=queue: pl.decide(hosts=h, queue=q, now=NOW))
        times.append(seconds)
        placed.append(sum(len(v) for v in decision.placements.values()))
    median_t, median_vms = statistics.median(times), statistics.median(placed)
    return {
        "reps": len(times),
        "vms": median_vms,
        "p50_ms": percentile(times, 0.50) * 1e3,
        "p99_ms": percentile(times, 0.99) * 1e3,
        "vms_per_s": median_vms / median_t,
        "us_per_vm": median_t / max(median_vms, 1) * 1e6,
    }


def placement_cost(rng: random.Random, n_hosts: int, reps: int, batch: int = 200) -> float:
    """Seconds per placement on a half-busy pool, per-decision setup excluded.

    Times the planner's per-job loop directly (not through `decide`, on purpose): sorting the hosts and
    building the index is O(hosts) once per decision and would swamp 200 placements on 10,000 hosts.
    """
    small = instance_types.shape_for("ml.t3.medium")
    queue = [pl.Demand(f"b{i}", small, disk_gib=30, max_runtime_seconds=3600) for i in range(batch)]
    costs = []
    for _ in range(reps):
        planner = pl.Planner(make_pool(rng, n_hosts), queue, now=NOW, grace=0.0)
        gc.collect()
        start = time.perf_counter()
        for demand in queue:
            planner.consider(demand)
        costs.append((time.perf_counter() - start) / batch)
        assert len(planner.decision().placements) == batch, "the whole batch must fit"
    return statistics.median(costs)


def print_growth(cells: dict[tuple[int, str, int], dict[str, float]]) -> None:
    """us/VM of each Part 1 row as a ratio to its 10-host row, next to the log(hosts) ratio."""
    print("\nWhole-decision cost per placed VM, as a ratio to the 10-host row (log(h)/log(10): 2.00, 3.00)\n")
    print(f"{'jobs':>6} {'kind':>6} {'100 hosts':>10} {'1000 hosts':>11}")
    for (n_jobs, kind, n_hosts), cell in cells.items():
        if n_hosts == 10:
            r100 = cells[(n_jobs, kind, 100)]["us_per_vm"] / cell["us_per_vm"]
            r1000 = cells[(n_jobs, kind, 1_000)]["us_per_vm"] / cell["us_per_vm"]
            print(f"{n_jobs:>6} {kind:>6} {r100:>10.2f} {r1000:>11.2f}")
    print("(this counts classifying the jobs that wait: on 10 hosts few VMs fit and that share dominates,")
    print(" which is why ratios fall below 1 for long queues. Part 2 isolates a single placement.)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=7, help="minimum repetitions per cell (default 7)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    print("Part 1: one decision on a half-busy pool (medians; p50/p99 over the reps)\n")
    header = (
        f"{'jobs':>6} {'kind':>6} {'hosts':>6} {'reps':>5} {'VMs placed':>10} {'p50 ms':>9} {'p99 ms':>9}"
    )
    print(header + f" {'VMs/s':>9} {'us/VM':>8}")
    print("-" * (len(header) + 19))
    cells: dict[tuple[int, str, int], dict[str, float]] = {}
    for n_jobs in (100, 1_000, 10_000):
        for kind in ("single", "multi"):
            for n_hosts in (10, 100, 1_000):
                cell = bench_cell(rng, n_hosts, n_jobs, multi=kind == "multi", reps=args.reps)
                cells[(n_jobs, kind, n_hosts)] = cell
                print(
                    f"{n_jobs:>6} {kind:>6} {n_hosts:>6} {cell['reps']:>5.0f} {cell['vms']:>10.0f}"
                    f" {cell['p50_ms']:>9.2f} {cell['p99_ms']:>9.2f} {cell['vms_per_s']:>9.0f}"
                    f" {cell['us_per_vm']:>8.1f}"
                )
    target = min(cells[(10_000, k, 1_000)]["vms_per_s"] for k in ("single", "multi"))
    verdict = "meets" if target >= 1_000 else "MISSES"
    print(f"\n10,000 jobs x 1,000 hosts: {target:,.0f} VMs/s at worst, {verdict} the 1,000 VMs/s target.")
    print_growth(cells)

    print("\nPart 2: cost of one placement as the pool grows (batch of 200 ml.t3.medium, half-busy pool)\n")
    print(f"{'hosts':>7} {'us/placement':>13} {'vs 10 hosts':>12} {'log(h)/log(10)':>15}")
    print("-" * 50)
    base = 0.0
    for n_hosts in (10, 100, 1_000, 10_000):
        cost = placement_cost(rng, n_hosts, reps=args.reps)
        base = base or cost
        print(
            f"{n_hosts:>7} {cost * 1e6:>13.1f} {cost / base:>12.2f} {math.log(n_hosts) / math.log(10):>15.2f}"
        )


if __name__ == "__main__":
    main()
