"""The master key, and the wrapping of the data keys and secrets it protects (envelope encryption).

One 256-bit master key per server, read from a file (created at first start, mode 0600). It never encrypts
data itself: it wraps the per-object data keys and the stored access-key secrets with AES-256-GCM, each
wrap with a fresh 96-bit nonce and the caller's context bound as associated data, so a wrapped value moved
to another row or object fails to unwrap instead of decrypting as something else.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
# A version byte leads every wrapped value, so the format can change without guessing.
_VERSION = b"\x01"


class UnwrapError(Exception):
    """A wrapped value was corrupted, truncated, moved to another context, or made under another key."""


class Keyring:
    """Wraps and unwraps small secrets under the master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes, got {len(master_key)}")
        self._aead = AESGCM(master_key)

    def wrap(self, plaintext: bytes, *, context: bytes) -> bytes:
        """`plaintext` encrypted and authenticated under the master key, bound to `context`."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        """The plaintext `wrap` was given; `UnwrapError` when the value or its context does not match."""
        if len(wrapped) < 1 + NONCE_BYTES + 16 or wrapped[:1] != _VERSION:
            raise UnwrapError("wrapped value is malformed")
        nonce, sealed = wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, context)
        except InvalidTag as error:
            raise UnwrapError("wrapped value does not authenticate") from error

    @staticmethod
    def new_data_key() -> bytes:
        return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def load_or_create(path: Path) -> Keyring:
    """The keyring of the master key at `path`, creating the key (0600, in a 0700 folder) if absent."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        # Written aside and linked into place: a concurrent reader never sees a half-written key, and of
        # two servers starting at once exactly one key wins.
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return Keyring(_read(path))


def _read(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ValueError(f"master key file {path} must hold exactly {KEY_BYTES} bytes, it holds {len(key)}")
    return key
