"""A bounded cache of derived SigV4 signing keys, so a repeated request costs one HMAC instead of five.

A signing key is HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"): it
grants nothing the secret does not, and it changes every day. Entries are keyed by the access key id,
a SHA-256 of the secret (a rotated secret never hits an old entry) and the scope. The cache holds no
access decision: a revoked key fails at its lookup before the cache is consulted.
"""

from __future__ import annotations

import hashlib
import threading

from app.client import sigv4 as client_sigv4

_Entry = tuple[str, bytes, str, str, str]


class SigningKeyCache:
    """Derived signing keys, at most `maxsize` of them; the oldest entry goes first when full."""

    def __init__(self, *, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self._keys: dict[_Entry, bytes] = {}
        self._lock = threading.Lock()

    def signing_key(self, *, access_key_id: str, secret: str, date: str, region: str, service: str) -> bytes:
        """The signing key of this secret for this scope, derived once per scope."""
        entry = (access_key_id, hashlib.sha256(secret.encode()).digest(), date, region, service)
        key = self._keys.get(entry)
        if key is None:
            key = client_sigv4.signing_key(secret, date, region, service)
            self._store(entry, key)
        return key

    def __len__(self) -> int:
        return len(self._keys)

    def _store(self, entry: _Entry, key: bytes) -> None:
        if self.maxsize <= 0:
            return
        with self._lock:
            while len(self._keys) >= self.maxsize:
                del self._keys[next(iter(self._keys))]
            self._keys[entry] = key
