"""What finding an access key costs SigV4 verification, per request: from the cache, and from the database.

    .venv/bin/python bench/key_lookup.py [--keys 1000] [--lookups 200000]

Creates `--keys` access keys in a fresh SQLite database, then times `IdentityService.lookup`:

- cached: one key again and again within the cache's second (a dict read and a clock read);
- uncached: every lookup past the cache's TTL, so each reads the row and unwraps the secret (AES-GCM);
- unknown: a key id that does not exist, cached as unknown.

Prints microseconds per lookup (the median of 5 runs of each).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.identities import IdentityService  # noqa: E402
from app.clock import utcnow  # noqa: E402
from app.crypto import keyring  # noqa: E402
from app.db import migrate  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402

RUNS = 5


class PastTtl:
    """A monotonic clock that jumps past the cache's TTL at every read: every lookup loads."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 2.0
        return self.now


def per_lookup_us(lookup: Callable[[str], object], ids: list[str], count: int) -> float:
    runs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for i in range(count):
            lookup(ids[i % len(ids)])
        runs.append((time.perf_counter() - started) / count * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        ring = keyring.load_or_create(Path(folder) / "master.key")
        identities = IdentityService(sessions=sessions, keyring=ring, clock=utcnow)
        account, first = identities.create_account("bench")
        ids = [first.key.access_key_id]
        ids += [
            identities.create_access_key(account.account_id).key.access_key_id for _ in range(args.keys - 1)
        ]
        for key_id in ids:
            identities.lookup(key_id)
        # One hot key: the hit alone (with many keys, each also costs one load per second of use).
        cached = per_lookup_us(identities.lookup, ids[:1], args.lookups)
        unknown = per_lookup_us(identities.lookup, ["AKIANOSUCHKEY0000000"], args.lookups)
        loading = IdentityService(sessions=sessions, keyring=ring, clock=utcnow, monotonic=PastTtl())
        uncached = per_lookup_us(loading.lookup, ids, max(1, args.lookups // 50))
        engine.dispose()
    print(f"{'lookup':<10} {'us/lookup':>10}")
    for name, value in (("cached", cached), ("unknown", unknown), ("uncached", uncached)):
        print(f"{name:<10} {value:>10.2f}")
    print(f"uncached / cached: {uncached / cached:.0f}x")


if __name__ == "__main__":
    main()
