"""The master key file and the wrapping it does."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.crypto import keyring


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "master.key"
    first = keyring.load_or_create(path)
    wrapped = first.wrap(b"data key", context=b"object-1")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert keyring.load_or_create(path).unwrap(wrapped, context=b"object-1") == b"data key"


def test_unwrap_refuses_another_context_a_flipped_bit_and_another_key(tmp_path: Path) -> None:
    ring = keyring.load_or_create(tmp_path / "a.key")
    wrapped = ring.wrap(b"secret", context=b"AKIA1")
    with pytest.raises(keyring.UnwrapError):
        ring.unwrap(wrapped, context=b"AKIA2")
    tampered = bytearray(wrapped)
    tampered[-1] ^= 1
    with pytest.raises(keyring.UnwrapError):
        ring.unwrap(bytes(tampered), context=b"AKIA1")
    with pytest.raises(keyring.UnwrapError):
        keyring.load_or_create(tmp_path / "b.key").unwrap(wrapped, context=b"AKIA1")
    with pytest.raises(keyring.UnwrapError):
        ring.unwrap(wrapped[:10], context=b"AKIA1")


def test_a_key_file_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.key"
    path.write_bytes(b"too short")
    with pytest.raises(ValueError, match="32 bytes"):
        keyring.load_or_create(path)
