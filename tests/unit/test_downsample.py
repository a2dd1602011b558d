"""The console's min/max-preserving downsampling: short series whole, long ones exactly THRESHOLD points
with every bucket's extremes kept in order."""

from __future__ import annotations

import math
import random

import pytest

from app.console.downsample import THRESHOLD, Candidate, choose, downsample


def test_a_short_series_is_returned_whole() -> None:
    xs, ys = list(range(THRESHOLD)), [math.sin(i) for i in range(THRESHOLD)]
    assert downsample(xs, ys) == (xs, ys)
    assert THRESHOLD >= 1000  # the number the README and the browser tests name


def test_a_long_series_keeps_threshold_points_in_order_with_its_extremes() -> None:
    rng = random.Random(7)
    n = 100_000
    ys = [rng.gauss(0, 1) for _ in range(n)]
    ys[31_337], ys[77_777] = 50.0, -50.0  # one spike and one dip
    xs = [float(i) for i in range(n)]
    out_x, out_y = downsample(xs, ys)
    assert len(out_x) == len(out_y) == THRESHOLD
    assert out_x == sorted(out_x) and len(set(out_x)) == THRESHOLD
    assert max(out_y) == 50.0 and min(out_y) == -50.0
    assert all(ys[int(x)] == y for x, y in zip(out_x, out_y, strict=True))


def test_each_bucket_contributes_its_min_and_max() -> None:
    ys = [0.0, 5.0, 1.0, -3.0, 2.0, 2.0, 9.0, 2.0]  # two buckets of four
    assert downsample(list(range(8)), ys, threshold=4) == ([1, 3, 4, 6], [5.0, -3.0, 2.0, 9.0])


def test_a_flat_bucket_gives_its_first_and_last_point() -> None:
    assert downsample(list(range(6)), [1.0] * 6, threshold=2) == ([0, 5], [1.0, 1.0])


@pytest.mark.parametrize("threshold", [0, 1, 3])
def test_the_threshold_is_an_even_number_of_at_least_two(threshold: int) -> None:
    with pytest.raises(ValueError, match="even"):
        downsample([1, 2, 3], [1, 2, 3], threshold=threshold)


def _candidate(
    bucket: int, step: int, value: float, *, lowest: bool = False, highest: bool = False
) -> Candidate:
    return Candidate(bucket=bucket, step=step, value=value, stamp=None, lowest=lowest, highest=highest)


def test_choose_keeps_each_buckets_extremes_in_order() -> None:
    first, low, high, last = (
        _candidate(0, 0, 1.0),
        _candidate(0, 1, -3.0, lowest=True),
        _candidate(0, 2, 9.0, highest=True),
        _candidate(0, 3, 2.0),
    )
    later_high, later_low = _candidate(1, 4, 5.0, highest=True), _candidate(1, 6, 0.0, lowest=True)
    assert choose([last, high, later_low, first, low, later_high]) == [low, high, later_high, later_low]


def test_choose_keeps_a_flat_buckets_first_and_last() -> None:
    both, last = _candidate(0, 0, 1.0, lowest=True, highest=True), _candidate(0, 5, 1.0)
    assert choose([last, both]) == [both, last]
