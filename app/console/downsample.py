"""Min/max-preserving downsampling of a metric series, done on the server so a browser never receives
more than `THRESHOLD` points however long a job ran.

A series of at most `THRESHOLD` points is returned whole. A longer one is cut into `THRESHOLD // 2`
buckets of consecutive points; each bucket contributes its smallest and its largest value, in the order
they occurred. The result has exactly `THRESHOLD` points, and every spike, dip, the global minimum and
maximum survive: what a loss curve is read for.
"""

from __future__ import annotations

from collections.abc import Sequence

# The most points of one series the console sends; the browser tests and the README name this number.
THRESHOLD = 1000


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
        start, end = b * n // buckets, (b + 1) * n // buckets  # every bucket holds at least two points
        low = min(range(start, end), key=ys.__getitem__)
        high = max(range(start, end), key=ys.__getitem__)
        if low == high:  # a flat bucket: its first and last point
            low, high = start, end - 1
        for i in sorted((low, high)):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y
