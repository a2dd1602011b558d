"""A fixed master key for tests that open an object store directly (never a key any server uses)."""

from __future__ import annotations

from app.crypto.keyring import Keyring

TEST_KEYRING = Keyring(b"sagelite test master key 32 byte")
