"""MetricDefinitions: regexes applied to every log line of every VM; the last value of each is final."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.jobs.metrics import Point


@dataclass
class MetricScanner:
    """Reads each log file incrementally and keeps the latest value of every defined metric."""

    definitions: Sequence[dict[str, str]]
    latest: dict[str, tuple[float, dt.datetime]] = field(default_factory=dict)
    _offsets: dict[Path, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._patterns = [(d["Name"], _compile(d["Regex"])) for d in self.definitions]

    def scan(self, logs: Iterable[Path], now: dt.datetime) -> list[Point]:
        """Read what the logs gained since the last scan; returns the new metric values found."""
        if not self._patterns:
            return []
        found: list[Point] = []
        for path in logs:
            for line in self._new_lines(path):
                found.extend(self._match(line, now))
        return found

    def final_metrics(self) -> list[dict[str, Any]]:
        """FinalMetricDataList: the last value seen of each metric, with when it was seen."""
        return [
            {"MetricName": name, "Value": value, "Timestamp": when.timestamp()}
            for name, (value, when) in sorted(self.latest.items())
        ]

    def _new_lines(self, path: Path) -> list[str]:
        offset = self._offsets.get(path, 0)
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data.rfind(b"\n") + 1  # leave a half-written last line for the next scan
        self._offsets[path] = offset + complete
        return data[:complete].decode("utf-8", "replace").splitlines()

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
