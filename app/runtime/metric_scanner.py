"""MetricDefinitions: regexes applied to every log line of every VM; the last value of each is final.

The scanner runs in the job's own thread (the run's watch loop), never while a request is served: the
metrics route only reads the points stored here. Lines come through `logs.Tail` (at most
`logs.MAX_LINE_BYTES` each) and patterns through `metric_regex` (linear time, or a time budget per line).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.jobs import metric_regex
from app.jobs.metric_repository import Point
from app.jobs.spec import MetricDefinition
from app.runtime import log_times, logs

logger = logging.getLogger(__name__)

# A pattern on the backtracking engine that runs out of its budget this many times is dropped for the
# rest of the run: each timeout costs the watch loop a fraction of a second, never the API.
MAX_TIMEOUTS = 3
# Bytes of log read per file and scan while VMs run, so a chatty job cannot hold its watch loop (stops,
# deadlines) for long; the scan at the end reads everything left.
SCAN_BUDGET_BYTES = 64 * 1024 * 1024


@dataclass
class MetricScanner:
    """Reads each log file incrementally and keeps the latest value of every defined metric."""

    definitions: Sequence[MetricDefinition]
    job_name: str = ""
    latest: dict[str, tuple[float, dt.datetime]] = field(default_factory=dict)
    _tail: logs.Tail = field(default_factory=logs.Tail)
    _timeouts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._patterns = [
            (d.name, pattern) for d in self.definitions if (pattern := _compile(d.regex)) is not None
        ]

    def scan(self, vm_logs: Mapping[str, Path], now: dt.datetime, *, final: bool = False) -> list[Point]:
        """Read what each VM's log (by host) gained since the last scan (everything, and unterminated
        last lines too, when `final`); returns the new metric values found, each at the time its line
        was written (`now` for a log without times)."""
        if not self._patterns:
            return []
        found: list[Point] = []
        for host, path in vm_logs.items():
            budget = None if final else SCAN_BUDGET_BYTES
            while (budget is None or budget > 0) and (lines := self._tail.new_lines_at(path, final=final)):
                found.extend(self._matches(lines, host=host, path=path, now=now))
                if budget is not None:
                    budget -= sum(len(line) + 1 for _, line in lines)
        return found

    def _matches(
        self, lines: Sequence[tuple[int, bytes]], *, host: str, path: Path, now: dt.datetime
    ) -> list[Point]:
        matched = [
            (offset, name, value)
            for offset, line in lines
            for name, value in self._match(line.decode("utf-8", "replace"))
        ]
        # The log was read before its times, so every matched line has its record (log_times).
        with log_times.reading(path, fallback_ms=int(now.timestamp() * 1000)) as times:
            stamps = times.times_at([offset for offset, _, _ in matched])
        points = []
        for (_, name, value), ms in zip(matched, stamps, strict=True):
            when = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
            self.latest[name] = (value, when)
            points.append(Point(name, value, when, host=host))
        return points

    def final_metrics(self) -> list[dict[str, Any]]:
        """FinalMetricDataList: the last value seen of each metric, with when it was seen."""
        return [
            {"MetricName": name, "Value": value, "Timestamp": when.timestamp()}
            for name, (value, when) in sorted(self.latest.items())
        ]

    def _match(self, line: str) -> list[tuple[str, float]]:
        found = []
        for name, pattern in list(self._patterns):
            try:
                text = pattern.first_group(line)
            except metric_regex.MatchTimeout:
                self._timed_out(name)
                continue
            value = _number(text)
            if value is not None:
                found.append((name, value))
        return found

    def _timed_out(self, name: str) -> None:
        self._timeouts[name] = self._timeouts.get(name, 0) + 1
        if self._timeouts[name] >= MAX_TIMEOUTS:
            self._patterns = [(n, p) for n, p in self._patterns if n != name]
            logger.warning(
                "metric regex dropped: it ran out of its time budget too often",
                extra={"job": self.job_name, "metric": name, "timeouts": self._timeouts[name]},
            )


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _compile(expression: str) -> metric_regex.MetricPattern | None:
    try:
        return metric_regex.compile_pattern(expression)
    except metric_regex.InvalidMetricRegex:
        return None  # refused at create; a job stored before that check yields no values, not a failure
