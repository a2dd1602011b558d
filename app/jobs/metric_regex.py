"""MetricDefinitions regexes, compiled to run over log lines that nobody vouches for.

They run in bounded time (`app.bounded_regex`: RE2 where the pattern allows, the `regex` module with a
time budget per line where it does not, since SageMaker accepts lookarounds and backreferences); a
pattern neither engine compiles is refused at create (`invalid_reason`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.bounded_regex import BoundedRegex, InvalidRegex, MatchTimeout, compile_bounded

__all__ = ["LINE_TIMEOUT_SECONDS", "InvalidMetricRegex", "MatchTimeout", "MetricPattern", "compile_pattern"]

# A line's budget on the backtracking engine.
LINE_TIMEOUT_SECONDS = 0.05

InvalidMetricRegex = InvalidRegex


@dataclass(frozen=True, slots=True)
class MetricPattern:
    regex: BoundedRegex

    @property
    def expression(self) -> str:
        return self.regex.expression

    @property
    def linear(self) -> bool:
        """True on RE2 (linear time), False on the time-budgeted backtracking engine."""
        return self.regex.linear

    def first_group(self, line: str) -> str | None:
        """The text of the first group where the pattern is found in `line` (None when absent or when the
        pattern has no group or the group took no part); MatchTimeout past the budget."""
        return _first_group(self.regex.search(line))


def compile_pattern(expression: str, *, timeout: float = LINE_TIMEOUT_SECONDS) -> MetricPattern:
    """RE2 when it accepts the pattern, else `regex` with `timeout` seconds per line; InvalidMetricRegex
    when neither compiles it."""
    return MetricPattern(compile_bounded(expression, timeout=timeout))


def invalid_reason(expression: str) -> str | None:
    """Why the pattern cannot be used (None when it can): the `regex` module's own message."""
    try:
        compile_pattern(expression)
    except InvalidMetricRegex as error:
        return str(error)
    return None


def _first_group(found: Any) -> str | None:
    if found is None or not found.groups():
        return None
    value = found.group(1)
    return value if isinstance(value, str) else None
