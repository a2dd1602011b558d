"""What a streamed body must be checked against, as the edge verified it: the chunk-signature chain of a
signed aws-chunked upload (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`). The declared hex
`x-amz-content-sha256` of a plain body needs nothing from here: the store hashes the body on its worker
threads and compares before committing (`app.api.s3.body.verify`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from starlette.types import Scope

from app.api.s3.chunked import ChunkSignatureError
from app.auth.chunk_signatures import ChunkSignatureVerifier
from app.auth.sigv4 import PayloadMode, Verified
from app.auth.sigv4_errors import AuthFailure


def chunk_check(scope: Scope) -> SignedChunks | None:
    """The chunk-signature check of a signed streaming upload; None for any other body."""
    verified: Verified | None = scope.get("state", {}).get("signature")
    if verified is None:  # open paths have no signature, and no body to store
        return None
    verifier = verified.chunk_verifier()
    if verifier is None:
        return None
    return SignedChunks(verifier, trailer=verified.payload is PayloadMode.STREAMING_SIGNED_TRAILER)


class SignedChunks:
    """`app.api.s3.chunked.ChunkCheck` over the SigV4 library's verifier; failures as ChunkSignatureError."""

    def __init__(self, verifier: ChunkSignatureVerifier, *, trailer: bool) -> None:
        self._verifier = verifier
        self._trailer = trailer

    def begin_chunk(self, signature: str | None) -> None:
        with _as_chunk_error():
            self._verifier.begin_chunk(signature)

    def update(self, data: memoryview) -> None:
        self._verifier.update(data)

    def end_chunk(self) -> None:
        with _as_chunk_error():
            self._verifier.end_chunk()

    def end_body(self, trailers: Mapping[str, str]) -> None:
        """After the final chunk: its trailing headers' signature, when the body was signed with one."""
        if self._trailer:
            with _as_chunk_error():
                self._verifier.verify_trailers(trailers)


@contextlib.contextmanager
def _as_chunk_error() -> Iterator[None]:
    try:
        yield
    except AuthFailure as failure:
        raise ChunkSignatureError(failure.message) from None
