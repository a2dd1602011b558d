"""Chunk signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` bodies (aws-chunked, signed).

Each chunk's signature chains on the previous one, starting from the request's (seed) signature:

    AWS4-HMAC-SHA256-PAYLOAD \\n <amz date> \\n <scope> \\n <previous signature> \\n
    sha256("") \\n sha256(chunk)

The last chunk is empty. With `-TRAILER`, the trailing headers are signed too (`x-amz-trailer-signature`):

    AWS4-HMAC-SHA256-TRAILER \\n <amz date> \\n <scope> \\n <last chunk's signature> \\n sha256(trailers)

where the trailers are `name:value\\n` each. The decoder (app.api.s3.chunked) frames the body; it calls
`begin_chunk` with each chunk header's signature, `update` with the chunk's bytes and `end_chunk` at
its end, so a tampered chunk is refused before the next one is read.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from app.auth.sigv4_errors import AuthFailure, Reason

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TRAILER_SIGNATURE = "x-amz-trailer-signature"
_CHUNK_SIGNATURE = b"chunk-signature="


@dataclass(frozen=True, slots=True)
class StreamingSigning:
    """What a signed aws-chunked body's signatures chain on: the request's verified signature and scope."""

    seed_signature: str
    signing_key: bytes
    amz_date: str
    scope: str


def chunk_signature(header_line: bytes) -> str | None:
    """The `chunk-signature=` extension of a chunk header line (`10000;chunk-signature=...`), if any."""
    for extension in header_line.split(b";")[1:]:
        extension = extension.strip()
        if extension.startswith(_CHUNK_SIGNATURE):
            return extension[len(_CHUNK_SIGNATURE) :].decode("latin-1")
    return None


class ChunkSignatureVerifier:
    """Checks each chunk's signature, in order, and the trailer signature; raises AuthFailure(PAYLOAD)."""

    def __init__(self, signing: StreamingSigning) -> None:
        self._signing = signing
        self._previous = signing.seed_signature
        self._declared: str | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self.finished = False  # the final (empty) chunk was verified

    def begin_chunk(self, signature: str | None) -> None:
        """A chunk header was read; `signature` is its chunk-signature (None: it had none)."""
        if self.finished:
            raise _failure("A chunk followed the final chunk of the body.")
        if signature is None:
            raise _failure("Every chunk of a signed aws-chunked body must carry a chunk-signature.")
        self._declared = signature
        self._hash = hashlib.sha256()
        self._size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes of the current chunk."""
        self._hash.update(data)
        self._size += len(data)

    def end_chunk(self) -> None:
        """The current chunk is complete: check its signature (an empty chunk is the final one)."""
        if self._declared is None:
            raise _failure("Chunk data arrived before its chunk header.")
        signature = self._sign(b"AWS4-HMAC-SHA256-PAYLOAD", f"{EMPTY_SHA256}\n{self._hash.hexdigest()}")
        if not hmac.compare_digest(signature.encode(), self._declared.lower().encode("latin-1")):
            raise _failure("The chunk signature we calculated does not match the signature you provided.")
        self._previous = signature
        self._declared = None
        self.finished = self._size == 0

    def verify_chunk(self, signature: str | None, data: bytes | bytearray | memoryview) -> None:
        """Check one whole chunk."""
        self.begin_chunk(signature)
        self.update(data)
        self.end_chunk()

    def verify_trailers(self, trailers: Mapping[str, str]) -> None:
        """Check the trailing headers (in the order received) against their `x-amz-trailer-signature`."""
        if not self.finished:
            raise _failure("The trailing headers came before the final chunk.")
        declared = trailers.get(TRAILER_SIGNATURE, "")
        lines = "".join(f"{name}:{value}\n" for name, value in trailers.items() if name != TRAILER_SIGNATURE)
        signature = self._sign(
            b"AWS4-HMAC-SHA256-TRAILER", hashlib.sha256(lines.encode("latin-1")).hexdigest()
        )
        if not hmac.compare_digest(signature.encode(), declared.lower().encode("latin-1")):
            raise _failure("The trailer signature we calculated does not match the signature you provided.")

    def _sign(self, algorithm: bytes, digests: str) -> str:
        signing = self._signing
        text = b"\n".join(
            [algorithm, signing.amz_date.encode(), signing.scope.encode(), self._previous.encode()]
        )
        return hmac.new(signing.signing_key, text + b"\n" + digests.encode(), hashlib.sha256).hexdigest()


def _failure(message: str) -> AuthFailure:
    return AuthFailure(Reason.PAYLOAD, message, chunk=True)
