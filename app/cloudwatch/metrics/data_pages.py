"""GetMetricData's pages (pure): at most MaxDatapoints values a page, over all its queries in order.

Every page lists every query (those done before it, or starting after it, with no values); a query with
values left for a later page says `PartialData`, one whose last value is in this page or before says
`Complete`. A page's token is the position of its end in the queries' values laid end to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_DATAPOINTS = 100_800


@dataclass(frozen=True, slots=True)
class QueryResult:
    id: str
    label: str
    points: Sequence[tuple[float, float]]  # (timestamp, value) in the order asked for (ScanBy)


@dataclass(frozen=True, slots=True)
class Page:
    results: list[dict[str, Any]]
    next_offset: int | None  # None on the last page


def page(results: Sequence[QueryResult], *, offset: int, limit: int) -> Page:
    """The page of at most `limit` values starting `offset` values into the results."""
    shown, start, end = [], offset, offset + limit
    for result in results:
        first, last = max(start, 0), min(end, len(result.points))
        part = result.points[first:last] if first < last else []
        shown.append(
            {
                "Id": result.id,
                "Label": result.label,
                "Timestamps": [timestamp for timestamp, _ in part],
                "Values": [value for _, value in part],
                "StatusCode": "PartialData" if end < len(result.points) else "Complete",
            }
        )
        start, end = start - len(result.points), end - len(result.points)
    total = sum(len(result.points) for result in results)
    return Page(shown, offset + limit if offset + limit < total else None)
