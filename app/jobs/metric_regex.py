"""MetricDefinitions regexes, compiled to run over log lines that nobody vouches for.

A backtracking engine can take exponential time on a pattern such as `loss=((a+)+)$` against a short
line, and Python's `re` holds the GIL while it does, stalling every thread of the server. So:

- a pattern RE2 accepts runs on RE2 (google-re2), whose matching time is linear in the line whatever
  the pattern;
- a pattern RE2 refuses (lookarounds, backreferences: SageMaker accepts them) runs on the `regex`
  module with a time budget per line, and with the GIL released while it matches (`concurrent=True`),
  so even a slow pattern never stalls the API;
- a pattern neither engine compiles is refused at create (`invalid_reason`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import re2
import regex

# A line's budget on the backtracking engine; `regex` checks its clock coarsely, so a search that runs out
# may take about twice this before it gives up.
LINE_TIMEOUT_SECONDS = 0.05


class MatchTimeout(Exception):
    """A pattern on the backtracking engine ran out of its time budget on one line."""


class InvalidMetricRegex(ValueError):
    """Neither engine compiles the pattern."""


class MetricPattern(Protocol):
    @property
    def expression(self) -> str: ...

    @property
    def linear(self) -> bool:
        """True on RE2 (linear time), False on the time-budgeted backtracking engine."""
        ...

    def first_group(self, line: str) -> str | None:
        """The text of the first group where the pattern is found in `line` (None when absent or when the
        pattern has no group or the group took no part); MatchTimeout past the budget."""
        ...


@dataclass(frozen=True, slots=True)
class _Linear:
    expression: str
    compiled: Any  # re2._Regexp: the binding ships no type information

    @property
    def linear(self) -> bool:
        return True

    def first_group(self, line: str) -> str | None:
        return _first_group(self.compiled.search(line))


@dataclass(frozen=True, slots=True)
class _Budgeted:
    expression: str
    compiled: regex.Pattern[str]
    timeout: float

    @property
    def linear(self) -> bool:
        return False

    def first_group(self, line: str) -> str | None:
        try:
            found = self.compiled.search(line, timeout=self.timeout, concurrent=True)
        except TimeoutError:
            raise MatchTimeout(self.expression) from None
        return _first_group(found)


def compile_pattern(expression: str, *, timeout: float = LINE_TIMEOUT_SECONDS) -> MetricPattern:
    """RE2 when it accepts the pattern, else `regex` with `timeout` seconds per line; InvalidMetricRegex
    when neither compiles it."""
    try:
        return _Linear(expression, re2.compile(expression, _RE2_OPTIONS))
    except re2.error:
        pass
    try:
        return _Budgeted(expression, regex.compile(expression), timeout)
    except (regex.error, ValueError, OverflowError) as error:
        raise InvalidMetricRegex(str(error)) from None


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


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern falls back to `regex`: nothing for stderr
    return options


_RE2_OPTIONS = _re2_options()
