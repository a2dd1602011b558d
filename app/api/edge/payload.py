"""What a streamed body must be checked against, as the edge verified it: the chunk-signature chain of a
signed aws-chunked upload (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`). The declared `x-amz-content-sha256` of a
plain body needs nothing from here: the store hashes the body and compares (`app.api.s3.body.verify`)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import Scope

from app.api.edge.interim_sigv4 import AuthFailure, ChunkSignatures, Verified
from app.api.s3.chunked import ChunkCheck, ChunkSignatureError

SIGNED_STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def chunk_check(scope: Scope, headers: Mapping[str, str]) -> ChunkCheck | None:
    """The chunk-signature check of a signed streaming upload; None for any other body."""
    if headers.get("x-amz-content-sha256") != SIGNED_STREAMING:
        return None
    verified: Verified | None = scope.get("state", {}).get("signature")
    if verified is None:  # the edge verifies every request that reaches a handler
        raise ChunkSignatureError("a signed streaming body without a verified request signature")
    return _Chain(ChunkSignatures(verified))


class _Chain:
    def __init__(self, signatures: ChunkSignatures) -> None:
        self._signatures = signatures

    def begin(self) -> None:
        self._signatures.begin()

    def update(self, data: memoryview) -> None:
        self._signatures.update(data)

    def end(self, signature: str) -> None:
        try:
            self._signatures.end(signature)
        except AuthFailure as failure:
            raise ChunkSignatureError(failure.message) from None
