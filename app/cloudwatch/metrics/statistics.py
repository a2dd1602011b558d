"""CloudWatch's statistics over the values of one period (pure).

`SampleCount`, `Average`, `Sum`, `Minimum`, `Maximum`, and percentiles `pNN` (`p0`…`p100`, up to ten
decimals, as `p99.9`). Every point is a raw value (the metric scanner stores each one), so a percentile is
exact: the nearest-rank value, the smallest value with at least NN percent of the values at or below it.
As CloudWatch, a period holding any negative value has no percentiles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {
    "SampleCount": lambda values: float(len(values)),
    "Average": lambda values: math.fsum(values) / len(values),
    "Sum": math.fsum,
    "Minimum": min,
    "Maximum": max,
}
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{0,10})?|100(?:\.0{0,10})?)")


def percentile_of(statistic: str) -> float | None:
    """The percentile a `pNN` statistic names, None for anything else."""
    match = _PERCENTILE.fullmatch(statistic)
    return float(match.group(1)) if match else None


def is_statistic(statistic: str) -> bool:
    return statistic in STATISTICS or percentile_of(statistic) is not None


def percentile(values: Sequence[float], rank: float) -> float | None:
    """The nearest-rank percentile of `values` (at least one), None when a value is negative."""
    if min(values) < 0:
        return None
    ordered = sorted(values)
    index = max(math.ceil(rank / 100 * len(ordered)) - 1, 0)
    return ordered[index]


def compute(statistic: str, values: Sequence[float]) -> float | None:
    """One statistic over the values of a period (at least one); None when it has no value there."""
    simple = STATISTICS.get(statistic)
    if simple is not None:
        return simple(values)
    rank = percentile_of(statistic)
    if rank is None:
        raise ValueError(f"not a statistic: {statistic}")
    return percentile(values, rank)
