"""The sealed blob format: every blob's bytes encrypted with AES-256-GCM in fixed-size segments.

    header   magic "SLB1" | segment size (u32) | salt (16 random bytes) | key length (u16) | wrapped key
    segment  ciphertext of `segment size` plaintext bytes (the last one: 0..segment size) | 16-byte tag

Each blob has its own random 256-bit data key, wrapped by the master key (envelope encryption) with the
blob's salt as context, and kept in the blob's own header: a blob is self-describing, so a copy (a hard
link) shares bytes and key at no cost, and the index stays free of key material. Segment `i` is sealed
with nonce `salt[:4] | i` (unique: one key per blob) and associated data `salt | i | final`, so a
segment moved within or between blobs, a dropped tail (the segment before the cut is not `final`), or a
header taken from another blob (the data key then fails to unwrap, or the tags fail) all fail to
authenticate. Every blob ends with a final segment, even an empty one, so a blob cut to its header is
refused too. A ranged read decrypts only the segments it touches.
"""

from __future__ import annotations

import os
import secrets
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto.keyring import Keyring, UnwrapError
from app.storage.types import Buffer

MAGIC = b"SLB1"
TAG_BYTES = 16
SALT_BYTES = 16
# 1 MiB, the chunk a download streams: each chunk is then one decrypt call straight into the bytes that are
# sent (no joins, no copies). AES-GCM runs at its full rate from 64 KiB up (bench/objects.py prints it), the
# tags cost 0.0015 %, and the price, a small ranged GET decrypting up to two segments, is about 0.3 ms.
SEGMENT_BYTES = 1 << 20
_FIXED = struct.Struct(">4sI16sH")
_MAX_SEGMENT_BYTES = 64 << 20


class SealError(Exception):
    """A blob's header or a segment does not authenticate: corrupted, truncated, swapped or foreign."""


@dataclass(frozen=True)
class Geometry:
    """Where a blob's segments sit in its file, for a given plaintext size."""

    header_bytes: int
    segment_bytes: int
    size: int

    @property
    def segments(self) -> int:
        return max(1, -(-self.size // self.segment_bytes))

    @property
    def file_bytes(self) -> int:
        return self.header_bytes + self.size + TAG_BYTES * self.segments

    def file_offset(self, index: int) -> int:
        return self.header_bytes + index * (self.segment_bytes + TAG_BYTES)

    def plain_bytes(self, index: int) -> int:
        """Plaintext bytes in segment `index` (the last one may be short, or empty)."""
        return min(self.segment_bytes, self.size - index * self.segment_bytes)


class SegmentCipher:
    """AES-256-GCM over one blob's segments, under its data key."""

    def __init__(self, data_key: bytes, salt: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._salt = salt

    def seal_into(self, index: int, *, final: bool, plain: Buffer, out: memoryview) -> None:
        """Encrypt `plain` as segment `index` into `out` (exactly `len(plain) + TAG_BYTES` long)."""
        self._aead.encrypt_into(self._nonce(index), plain, self._aad(index, final), out)

    def open(self, index: int, *, final: bool, sealed: Buffer) -> bytes:
        """The plaintext of segment `index`; SealError if it does not authenticate."""
        try:
            return self._aead.decrypt(self._nonce(index), sealed, self._aad(index, final))
        except InvalidTag:
            raise SealError(f"segment {index} does not authenticate") from None

    def _nonce(self, index: int) -> bytes:
        return self._salt[:4] + index.to_bytes(8, "big")

    def _aad(self, index: int, final: bool) -> bytes:
        return self._salt + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


@dataclass(frozen=True)
class Header:
    segment_bytes: int
    salt: bytes
    wrapped_key: bytes

    def encode(self) -> bytes:
        fixed = _FIXED.pack(MAGIC, self.segment_bytes, self.salt, len(self.wrapped_key))
        return fixed + self.wrapped_key

    def cipher(self, keyring: Keyring) -> SegmentCipher:
        """The blob's cipher; SealError if its data key does not unwrap here (moved, altered, other key)."""
        try:
            return SegmentCipher(keyring.unwrap(self.wrapped_key, context=_context(self.salt)), self.salt)
        except UnwrapError:
            raise SealError("the blob's data key does not unwrap") from None


def new_header(keyring: Keyring, segment_bytes: int = SEGMENT_BYTES) -> tuple[Header, SegmentCipher]:
    """A fresh data key and salt for a new blob: its header and its cipher."""
    salt, data_key = secrets.token_bytes(SALT_BYTES), Keyring.new_data_key()
    header = Header(segment_bytes, salt, keyring.wrap(data_key, context=_context(salt)))
    return header, SegmentCipher(data_key, salt)


def read_header(fd: int) -> tuple[Header, int]:
    """The header at the start of an open blob, and its length; SealError if there is none."""
    fixed = os.pread(fd, _FIXED.size, 0)
    if len(fixed) != _FIXED.size:
        raise SealError("the blob is shorter than a header")
    magic, segment_bytes, salt, key_bytes = _FIXED.unpack(fixed)
    if magic != MAGIC or not 0 < segment_bytes <= _MAX_SEGMENT_BYTES:
        raise SealError("the blob does not start with a sealed header")
    wrapped = os.pread(fd, key_bytes, _FIXED.size)
    if len(wrapped) != key_bytes:
        raise SealError("the blob is shorter than its header")
    return Header(segment_bytes, salt, wrapped), _FIXED.size + key_bytes


def _context(salt: bytes) -> bytes:
    return b"sagelite:blob-data-key:" + salt
