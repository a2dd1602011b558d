"""The token bucket per access key, driven by a fake clock: rate, burst, Retry-After, bounded memory."""

from __future__ import annotations

import threading

import pytest

from app.auth.throttle import Decision, Throttle


def drain(throttle: Throttle, key: str, *, now: float) -> int:
    """Acquire until refused; how many were allowed."""
    allowed = 0
    while throttle.try_acquire(key, now=now).allowed:
        allowed += 1
    return allowed


def test_a_new_key_gets_the_whole_burst_then_is_refused() -> None:
    throttle = Throttle(rate_per_second=10.0, burst=5)
    assert drain(throttle, "AKID", now=0.0) == 5
    refused = throttle.try_acquire("AKID", now=0.0)
    assert refused == Decision(allowed=False, retry_after_seconds=pytest.approx(0.1))


def test_tokens_come_back_at_the_rate() -> None:
    throttle = Throttle(rate_per_second=10.0, burst=5)
    drain(throttle, "AKID", now=0.0)
    assert not throttle.try_acquire("AKID", now=0.05).allowed
    assert throttle.try_acquire("AKID", now=0.1).allowed
    assert not throttle.try_acquire("AKID", now=0.1).allowed
    assert drain(throttle, "AKID", now=0.35) == 2  # 0.25 s more: two and a half tokens


def test_refill_stops_at_the_burst() -> None:
    throttle = Throttle(rate_per_second=10.0, burst=5)
    drain(throttle, "AKID", now=0.0)
    throttle.try_acquire("other", now=0.2)  # keeps the first bucket alive in memory: it is not idle yet
    assert drain(throttle, "AKID", now=0.4) == 4
    assert drain(throttle, "AKID", now=100.0) == 5


def test_the_wait_is_what_the_missing_fraction_of_a_token_takes() -> None:
    throttle = Throttle(rate_per_second=4.0, burst=1)
    assert throttle.try_acquire("AKID", now=0.0).allowed
    decision = throttle.try_acquire("AKID", now=0.1)  # 0.4 of a token back; 0.6 missing
    assert not decision.allowed and decision.retry_after_seconds == pytest.approx(0.15)
    assert throttle.try_acquire("AKID", now=0.25).allowed


def test_keys_have_buckets_of_their_own() -> None:
    throttle = Throttle(rate_per_second=1.0, burst=2)
    assert drain(throttle, "AKID1", now=0.0) == 2
    assert drain(throttle, "AKID2", now=0.0) == 2


def test_a_time_earlier_than_the_last_one_adds_nothing_and_takes_nothing_back() -> None:
    throttle = Throttle(rate_per_second=10.0, burst=2)
    drain(throttle, "AKID", now=5.0)
    assert not throttle.try_acquire("AKID", now=4.0).allowed
    assert throttle.try_acquire("AKID", now=5.1).allowed


@pytest.mark.parametrize(
    ("seconds", "header"), [(0.0, "1"), (0.001, "1"), (1.0, "1"), (1.01, "2"), (29.5, "30")]
)
def test_retry_after_is_whole_seconds_and_at_least_one(seconds: float, header: str) -> None:
    assert Decision(allowed=False, retry_after_seconds=seconds).retry_after_header == header


def test_idle_buckets_are_forgotten() -> None:
    throttle = Throttle(rate_per_second=10.0, burst=5)  # an untouched bucket is full after 0.5 s
    for number in range(100):
        throttle.try_acquire(f"AKID{number}", now=0.0)
    assert len(throttle) == 100
    throttle.try_acquire("late", now=0.49)
    assert len(throttle) == 101
    throttle.try_acquire("later", now=0.5)
    assert len(throttle) == 2


def test_a_flood_of_distinct_keys_stays_within_max_keys() -> None:
    throttle = Throttle(rate_per_second=1.0, burst=1000, max_keys=50)
    for number in range(10_000):
        throttle.try_acquire(f"AKID{number}", now=number * 1e-6)
    assert len(throttle) == 50


def test_under_a_flood_the_most_recently_used_keys_keep_their_buckets() -> None:
    throttle = Throttle(rate_per_second=1.0, burst=3, max_keys=10)
    drain(throttle, "busy", now=0.0)
    for number in range(100):
        throttle.try_acquire(f"AKID{number}", now=0.0)
        assert not throttle.try_acquire("busy", now=0.0).allowed  # used again: never the one evicted


def test_concurrent_threads_never_get_more_than_the_burst() -> None:
    throttle = Throttle(rate_per_second=1.0, burst=1000)
    allowed: list[int] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        allowed.append(sum(throttle.try_acquire("AKID", now=0.0).allowed for _ in range(500)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 1000


@pytest.mark.parametrize(
    "settings", [{"rate_per_second": 0.0, "burst": 1}, {"rate_per_second": 1.0, "burst": 0}]
)
def test_nonsense_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Throttle(**settings)  # type: ignore[arg-type]


def test_peek_says_what_try_acquire_would_without_taking_a_token() -> None:
    throttle = Throttle(rate_per_second=1.0, burst=2)
    assert throttle.peek("k", now=0.0).allowed  # an unseen key
    assert throttle.try_acquire("k", now=0.0).allowed and throttle.try_acquire("k", now=0.0).allowed
    refused = throttle.peek("k", now=0.25)
    assert not refused.allowed and refused.retry_after_seconds == pytest.approx(0.75)
    assert not throttle.peek("k", now=0.25).allowed  # peeking took nothing and gave nothing
    assert throttle.peek("k", now=1.0).allowed
    assert throttle.try_acquire("k", now=1.0).allowed
    assert not throttle.try_acquire("k", now=1.0).allowed
