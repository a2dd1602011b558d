"""Regexes run on text nobody vouches for, in bounded time.

A backtracking engine can take exponential time on a pattern such as `((a+)+)$` against a short text, and
Python's `re` holds the GIL while it does, stalling every thread of the server. So:

- a pattern RE2 accepts runs on RE2 (google-re2), whose matching time is linear in the text whatever
  the pattern;
- a pattern RE2 refuses (lookarounds, backreferences, Java's `\\p{Alnum}`) runs on the `regex` module with a
  time budget per match, and with the GIL released while it matches (`concurrent=True`);
- a pattern neither engine compiles is `InvalidRegex`.

Users' patterns (MetricDefinitions) and botocore's (the wire model's constraints, matched against request
values) both run here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2
import regex

# `regex` checks its clock coarsely: a match that runs out may take about twice this before it gives up.
DEFAULT_TIMEOUT_SECONDS = 0.05


class MatchTimeout(Exception):
    """A pattern on the backtracking engine ran out of its time budget on one text."""


class InvalidRegex(ValueError):
    """Neither engine compiles the pattern."""


@dataclass(frozen=True, slots=True)
class BoundedRegex:
    expression: str
    compiled: Any  # re2._Regexp or regex.Pattern: the RE2 binding ships no type information
    linear: bool  # True on RE2 (linear time), False on the time-budgeted backtracking engine
    timeout: float

    def search(self, text: str) -> Any:
        """The first match in `text` (a match object, or None); MatchTimeout past the budget."""
        return self._run("search", text)

    def fullmatch(self, text: str) -> bool:
        """Whether the pattern matches all of `text`; MatchTimeout past the budget."""
        return self._run("fullmatch", text) is not None

    def _run(self, how: str, text: str) -> Any:
        if self.linear:
            return getattr(self.compiled, how)(text)
        try:
            return getattr(self.compiled, how)(text, timeout=self.timeout, concurrent=True)
        except TimeoutError:
            raise MatchTimeout(self.expression) from None


def compile_bounded(expression: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> BoundedRegex:
    """RE2 when it accepts the pattern, else `regex` with `timeout` seconds per match."""
    try:
        return BoundedRegex(expression, re2.compile(expression, _RE2_OPTIONS), True, timeout)
    except re2.error:
        pass
    try:
        return BoundedRegex(expression, regex.compile(expression), False, timeout)
    except (regex.error, ValueError, OverflowError) as error:
        raise InvalidRegex(str(error)) from None


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern falls back to `regex`: nothing for stderr
    return options


_RE2_OPTIONS = _re2_options()
