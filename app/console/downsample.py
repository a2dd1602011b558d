"""Min/max-preserving downsampling of a metric series, so a browser never receives more than `THRESHOLD`
points however long a job ran.

A series of at most `THRESHOLD` points is sent whole. A longer one of n points is cut into
`B = THRESHOLD // 2` buckets of consecutive points (point i, counted from 0 in time order, falls in bucket
`i * B // n`: every bucket holds at least two); each bucket contributes its smallest and its largest value
(the first of equals), in the order they occurred, or its first and last point when it is flat. The result
has exactly `THRESHOLD` points, and every spike, dip, the global minimum and maximum survive: what a loss
curve is read for.

The console picks the candidates in the database (`repository.bucket_extremes`) and chooses among them
here (`choose`); `downsample` is the same rule over a series in memory, the reference the tests and the
benchmark compare with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

# The most points of one series the console sends; the browser tests and the README name this number.
THRESHOLD = 1000
BUCKETS = THRESHOLD // 2


@dataclass(frozen=True, slots=True)
class Candidate:
    """A point the database kept for its bucket: its first smallest, first largest, first or last."""

    bucket: int
    step: int  # its place in the series, from 0
    value: float
    stamp: Any  # the timestamp as stored
    lowest: bool
    highest: bool


def choose(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Two points per bucket, in order: its extremes, or its first and last when min and max coincide."""
    kept: list[Candidate] = []
    for _, group in groupby(sorted(candidates, key=lambda c: c.step), key=lambda c: c.bucket):
        points = list(group)
        low = next(c for c in points if c.lowest)
        high = next(c for c in points if c.highest)
        pair = (points[0], points[-1]) if low is high else tuple(sorted((low, high), key=lambda c: c.step))
        kept.extend(pair)
    return kept


def downsample(
    xs: Sequence[float], ys: Sequence[float], *, threshold: int = THRESHOLD
) -> tuple[list[float], list[float]]:
    """`(xs, ys)` whole when short enough, else `threshold` points: each bucket's min and max in order."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    if threshold < 2 or threshold % 2:
        raise ValueError("threshold must be an even number of at least 2")
    n = len(xs)
    if n <= threshold:
        return list(xs), list(ys)
    buckets = threshold // 2
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        start, end = -(-b * n // buckets), -(-(b + 1) * n // buckets)  # the i with i * buckets // n == b
        low = min(range(start, end), key=ys.__getitem__)
        high = max(range(start, end), key=ys.__getitem__)
        if low == high:  # a flat bucket: its first and last point
            low, high = start, end - 1
        for i in sorted((low, high)):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y
