"""The lookup cache: fresh for its TTL (misses too), dropped at once by `discard`, bounded in size."""

from __future__ import annotations

from app.auth.ttl_cache import TtlCache


class Ticker:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """Counts loads and answers what `value` holds at the time of the load."""

    def __init__(self, value: str | None) -> None:
        self.value = value
        self.loads = 0

    def __call__(self) -> str | None:
        self.loads += 1
        return self.value


def _cache(ticker: Ticker, *, max_entries: int = 100) -> TtlCache[str, str | None]:
    return TtlCache(ttl=1.0, max_entries=max_entries, monotonic=ticker)


def test_a_value_is_served_from_memory_until_its_ttl_ends() -> None:
    ticker, source = Ticker(), Source("v1")
    cache = _cache(ticker)
    assert cache.get_or_load("k", source) == "v1"
    source.value = "v2"
    ticker.now += 0.999
    assert cache.get_or_load("k", source) == "v1"
    ticker.now += 0.001
    assert cache.get_or_load("k", source) == "v2"
    assert source.loads == 2


def test_a_miss_is_cached_for_the_same_ttl() -> None:
    ticker, source = Ticker(), Source(None)
    cache = _cache(ticker)
    assert cache.get_or_load("unknown", source) is None
    assert cache.get_or_load("unknown", source) is None
    assert source.loads == 1
    source.value = "created"
    ticker.now += 1.0
    assert cache.get_or_load("unknown", source) == "created"


def test_discard_drops_the_entry_at_once() -> None:
    ticker, source = Ticker(), Source("active")
    cache = _cache(ticker)
    cache.get_or_load("k", source)
    source.value = None
    cache.discard("k")
    assert cache.get_or_load("k", source) is None


def test_a_load_under_way_when_an_entry_is_discarded_is_not_kept() -> None:
    ticker = Ticker()
    cache = _cache(ticker)

    def stale_load() -> str | None:
        cache.discard("k")  # a revocation lands while the (now stale) row is being read
        return "stale"

    assert cache.get_or_load("k", stale_load) == "stale"
    assert cache.get_or_load("k", Source("fresh")) == "fresh"


def test_a_full_cache_starts_over_instead_of_growing() -> None:
    ticker = Ticker()
    cache = _cache(ticker, max_entries=3)
    counted = Source("v")
    for key in ("a", "b", "c", "d"):
        cache.get_or_load(key, counted)
    assert counted.loads == 4
    cache.get_or_load("d", counted)
    assert counted.loads == 4  # the newest entry survived the reset
    cache.get_or_load("a", counted)
    assert counted.loads == 5  # the older ones did not
