"""Waiting in tests: one bounded loop that fails saying what never came and what was seen instead.

A timeout here is a stall guard: generous, so that a slow machine never fails a test, and never a claim
about how fast anything is. Tests that can drive the work themselves (`tick()`, a fake clock) do so;
this is for work that really runs on its own: a server, a process, a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STALL_GUARD = 60.0
INTERVAL = 0.05  # seconds between probes
_SHOWN = 600  # characters of the last value a failure shows


def wait_until(
    probe: Callable[[], T],
    *,
    until: Callable[[T], object] = bool,
    what: str,
    timeout: float = STALL_GUARD,
    interval: float = INTERVAL,
) -> T:
    """Call `probe` until `until(value)` holds (by default: until it returns something truthy); return that
    value. After `timeout` seconds fail with an AssertionError naming `what` and the last value seen."""
    give_up = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value):
            return value
        if time.monotonic() >= give_up:
            seen = repr(value)
            if len(seen) > _SHOWN:
                seen = seen[:_SHOWN] + "..."
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}; last seen: {seen}")
        time.sleep(interval)
