"""Grid search's enumeration (pure): every combination of the categorical values, in a fixed order.

SageMaker's Grid strategy takes categorical ranges only and runs each combination once; the number of
training jobs is the size of the grid (MaxNumberOfTrainingJobs must not be given).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from app.tuning.ranges import CategoricalRange


def size(ranges: Sequence[CategoricalRange]) -> int:
    return math.prod(len(r.values) for r in ranges)


def combination(ranges: Sequence[CategoricalRange], index: int) -> dict[str, str]:
    """The `index`-th combination (0-based), the last range varying fastest, as itertools.product does."""
    if not 0 <= index < size(ranges):
        raise IndexError(f"grid index {index} is outside a grid of {size(ranges)}")
    chosen: dict[str, str] = {}
    for grid_range in reversed(ranges):
        index, position = divmod(index, len(grid_range.values))
        chosen[grid_range.name] = grid_range.values[position]
    return {r.name: chosen[r.name] for r in ranges}
