"""The cost of one throttling decision, next to the dict lookup every request already pays for its key.

    PYTHONPATH=. .venv/bin/python bench/throttle.py [--number 200000] [--rounds 5]

Times, per call, in µs (the best of `--rounds` runs of `--number` calls, as `timeit` advises):

- a dict lookup of an access key id (the floor: what finding a key's record costs);
- `Throttle.try_acquire` for one busy key (the common case: a client calling in a loop);
- the same rotating over 10,000 distinct keys (every call moves a different bucket to the back);
- the same rotating over 100,000 distinct keys with max_keys 10,000 (a flood: every call evicts one);
- one busy key from 8 threads at once (the lock contended).

The rate is high enough that nothing is refused, so every call does the full refill-and-take; the
burst makes an untouched bucket idle after 1 s, as the defaults (200/s, burst 400) do after 2 s.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
import timeit
from collections.abc import Callable

from app.auth.throttle import Throttle

THREADS = 8


def per_call_us(stmt: Callable[[], object], *, number: int, rounds: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=rounds)) / number * 1e6


def rotating(count: int, *, max_keys: int) -> Callable[[], object]:
    throttle = Throttle(rate_per_second=1e9, burst=10**9, max_keys=max_keys)
    keys = itertools.cycle([f"AKIA{n:016d}" for n in range(count)])
    clock = time.monotonic
    return lambda: throttle.try_acquire(next(keys), now=clock())


def contended_us(*, number: int) -> float:
    throttle = Throttle(rate_per_second=1e9, burst=10**9)
    barrier = threading.Barrier(THREADS + 1)

    def worker() -> None:
        barrier.wait()
        for _ in range(number):
            throttle.try_acquire("AKIAEXAMPLE", now=time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - started) / (number * THREADS) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--number", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    timing = {"number": args.number, "rounds": args.rounds}

    records = {f"AKIA{n:016d}": n for n in range(10_000)}
    lookup = per_call_us(lambda: records.get("AKIA0000000000004242"), **timing)
    one_key = Throttle(rate_per_second=1e9, burst=10**9)
    clock = time.monotonic
    rows = [
        ("dict lookup of a key id", lookup),
        (
            "try_acquire, one busy key",
            per_call_us(lambda: one_key.try_acquire("AKIAEXAMPLE", now=clock()), **timing),
        ),
        ("try_acquire, 10,000 keys in turn", per_call_us(rotating(10_000, max_keys=10_000), **timing)),
        ("try_acquire, 100,000 keys, max 10,000", per_call_us(rotating(100_000, max_keys=10_000), **timing)),
        (f"try_acquire, one key, {THREADS} threads", contended_us(number=args.number // THREADS)),
    ]
    print(f"{'':40} {'µs/call':>8} {'x dict':>7}")
    for name, micros in rows:
        print(f"{name:40} {micros:8.3f} {micros / lookup:7.1f}")


if __name__ == "__main__":
    main()
