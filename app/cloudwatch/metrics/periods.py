"""Periods as CloudWatch cuts a time range into them (pure).

The points here carry millisecond times, so they are high-resolution metrics: a period is 1, 5, 10, 20
or 30 seconds, or a multiple of 60. The start is rounded down as CloudWatch rounds it (to the minute for
periods of a minute or more, else to a multiple of the period), periods follow each other from there,
each datapoint is stamped with the start of its period, and the end is exclusive.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

SHORT_PERIODS = (1, 5, 10, 20, 30)
MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit per request


class PeriodError(ValueError):
    """A period or range CloudWatch refuses (InvalidParameterValue); the message is CloudWatch's."""


class TooManyDatapoints(PeriodError):
    """A range of too many periods for one request (InvalidParameterCombination)."""


@dataclass(frozen=True, slots=True)
class Range:
    start: float  # seconds since the epoch, rounded down: the start of the first period
    end: float  # exclusive
    period: int

    def count(self) -> int:
        """How many periods the range spans (the last one may reach past the end)."""
        return math.ceil((self.end - self.start) / self.period)

    def bucket_of(self, timestamp: float) -> float | None:
        """The start of the period `timestamp` falls in, None outside the range."""
        if not self.start <= timestamp < self.end:
            return None
        return self.start + (timestamp - self.start) // self.period * self.period


def check_period(period: int) -> None:
    if period not in SHORT_PERIODS and period % 60:
        raise PeriodError("The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60.")


def time_range(*, start: float, end: float, period: int) -> Range:
    """The periods from `start` (rounded down) to `end`; refuses an empty range and a bad period."""
    check_period(period)
    if start >= end:
        raise PeriodError("The parameter StartTime must be less than the parameter EndTime.")
    step = 60 if period >= 60 else period
    return Range(start=math.floor(start / step) * step, end=end, period=period)


def check_datapoint_limit(span: Range, *, statistics: int) -> None:
    """GetMetricStatistics' refusal of a request for more than MAX_DATAPOINTS datapoints."""
    requested = span.count() * statistics
    if requested > MAX_DATAPOINTS:
        raise TooManyDatapoints(
            f"You have requested up to {requested} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, "
            "or decreasing the time range."
        )


def bucketed(span: Range, points: Iterable[tuple[float, float]]) -> dict[float, list[float]]:
    """The values of `(timestamp, value)` points by the start of their period, in time order."""
    buckets: dict[float, list[float]] = {}
    for timestamp, value in points:
        bucket = span.bucket_of(timestamp)
        if bucket is not None:
            buckets.setdefault(bucket, []).append(value)
    return dict(sorted(buckets.items()))
