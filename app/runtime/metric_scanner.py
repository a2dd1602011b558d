"""MetricDefinitions: regexes applied to every log line of every VM; the last value of each is final."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.jobs.metric_repository import Point
from app.jobs.spec import MetricDefinition
from app.runtime import logs


@dataclass
class MetricScanner:
    """Reads each log file incrementally and keeps the latest value of every defined metric."""

    definitions: Sequence[MetricDefinition]
    latest: dict[str, tuple[float, dt.datetime]] = field(default_factory=dict)
    _tail: logs.Tail = field(default_factory=logs.Tail)

    def __post_init__(self) -> None:
        self._patterns = [(d.name, _compile(d.regex)) for d in self.definitions]

    def scan(self, paths: Iterable[Path], now: dt.datetime) -> list[Point]:
        """Read what the logs gained since the last scan; returns the new metric values found."""
        if not self._patterns:
            return []
        found: list[Point] = []
        for path in paths:
            for line in self._tail.new_lines(path):
                found.extend(self._match(line.decode("utf-8", "replace"), now))
        return found

    def final_metrics(self) -> list[dict[str, Any]]:
        """FinalMetricDataList: the last value seen of each metric, with when it was seen."""
        return [
            {"MetricName": name, "Value": value, "Timestamp": when.timestamp()}
            for name, (value, when) in sorted(self.latest.items())
        ]

    def _match(self, line: str, now: dt.datetime) -> list[Point]:
        points = []
        for name, pattern in self._patterns:
            found = pattern.search(line) if pattern is not None else None
            if not found or not found.groups():
                continue
            try:
                value = float(found.group(1))
            except (TypeError, ValueError):
                continue
            self.latest[name] = (value, now)
            points.append(Point(name, value, now))
        return points


def _compile(expression: str) -> re.Pattern[str] | None:
    try:
        return re.compile(expression)
    except re.error:
        return None  # an invalid user regex yields no values rather than failing the job
