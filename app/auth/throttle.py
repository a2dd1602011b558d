"""Rate limiting: a token bucket per access key, with the time passed in (pure, thread-safe, bounded).

Each key's bucket holds up to `burst` tokens and refills at `rate_per_second`; a request takes one token
or is refused with the seconds until one is back. A bucket untouched for `burst / rate_per_second`
seconds is full again, exactly as a new one would be, so forgetting it loses nothing: such idle buckets
are dropped by a pass once per such period. Buckets are kept in the order they were last used, so the
idle ones sit at the front and a pass stops at the first live one. Beyond `max_keys` live buckets (a
flood of distinct keys), the least recently used is dropped even if not yet full: memory stays bounded,
and the worst that costs is a fresh burst for a key idle longer than any of the others.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_MAX_KEYS = 10_000
# Refill arithmetic in floats may land a hair under a whole token (0.1 s * 10/s = 0.999...): count it.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the request may proceed; if not, how long until a token is back."""

    allowed: bool
    retry_after_seconds: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """The `Retry-After` value: whole seconds, at least 1 (HTTP has no fractions)."""
        return str(max(1, math.ceil(self.retry_after_seconds)))


ALLOWED = Decision(allowed=True)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class Throttle:
    """Token buckets keyed by access key id: `try_acquire(key, now=...)` with `now` in monotonic seconds."""

    def __init__(self, *, rate_per_second: float, burst: int, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if rate_per_second <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate_per_second must be > 0, burst and max_keys >= 1")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.max_keys = max_keys
        self._full = float(burst)
        self._refill_seconds = burst / rate_per_second  # an untouched bucket is full after this long
        self._next_sweep = 0.0
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def try_acquire(self, key: str, *, now: float) -> Decision:
        """Take one token from `key`'s bucket, or say how long until there is one."""
        with self._lock:
            buckets = self._buckets
            if now >= self._next_sweep:
                self._forget_idle(now)
            bucket = buckets.get(key)
            if bucket is None:
                bucket = buckets[key] = _Bucket(tokens=self._full, updated=now)
                if len(buckets) > self.max_keys:
                    buckets.popitem(last=False)
            else:
                buckets.move_to_end(key)  # most recently used at the back
                # Threads may pass slightly out-of-order times: time never runs backwards for a bucket.
                if now > bucket.updated:
                    tokens = bucket.tokens + (now - bucket.updated) * self.rate_per_second
                    bucket.tokens = tokens if tokens < self._full else self._full
                    bucket.updated = now
            if bucket.tokens >= 1.0 - _EPSILON:
                bucket.tokens -= 1.0
                return ALLOWED
            return Decision(allowed=False, retry_after_seconds=(1.0 - bucket.tokens) / self.rate_per_second)

    def peek(self, key: str, *, now: float) -> Decision:
        """Whether `key` has a token now, taking none (what a caller checks before an attempt it counts
        only when it fails)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return ALLOWED
            tokens = min(self._full, bucket.tokens + max(0.0, now - bucket.updated) * self.rate_per_second)
            if tokens >= 1.0 - _EPSILON:
                return ALLOWED
            return Decision(allowed=False, retry_after_seconds=(1.0 - tokens) / self.rate_per_second)

    def _forget_idle(self, now: float) -> None:
        # Idle buckets sit at the front; a pass every refill period keeps memory to the keys recently used.
        buckets = self._buckets
        while buckets:
            oldest = next(iter(buckets.values()))
            if now - oldest.updated < self._refill_seconds:
                break
            buckets.popitem(last=False)
        self._next_sweep = now + self._refill_seconds
