"""aws-chunked streaming uploads: AWS's published examples (S3 API reference, "Transferring Payload in
Multiple Chunks" and "Including Trailing Headers") verify, seed signature and every chunk signature; a
tampered, reordered or missing chunk fails. botocore's STREAMING-UNSIGNED-PAYLOAD-TRAILER verifies too."""

from __future__ import annotations

import collections
import datetime as dt

import pytest

from app.api.s3.chunked import AwsChunkedDecoder
from app.auth.caller import Caller
from app.auth.chunk_signatures import ChunkSignatureVerifier, chunk_signature
from app.auth.sigv4 import KeyRecord, PayloadMode, Verified, verify_request
from app.auth.sigv4_errors import AuthFailure, Reason, s3_error
from tests.support.sigv4_oracle import Keys, signed

EXAMPLE_KEY = KeyRecord(
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    Caller("123456789012", "AKIAIOSFODNN7EXAMPLE"),
)
EXAMPLE_TIME = dt.datetime(2013, 5, 24, tzinfo=dt.UTC)
DATA = b"a" * 66560  # 64 KiB and 1 KiB chunks, then the final empty one

SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNKS = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNKS = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
]
TRAILER = b"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:"
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"


def example_headers(*, trailer: bool) -> list[tuple[bytes, bytes]]:
    signed_names = (
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length"
    )
    signed_names += ";x-amz-storage-class"
    if trailer:
        signed_names = signed_names.replace(";content-length;", ";") + ";x-amz-trailer"
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed_names},Signature={TRAILER_SEED if trailer else SEED}"
    )
    headers = [
        (b"host", b"s3.amazonaws.com"),
        (b"x-amz-date", b"20130524T000000Z"),
        (b"x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        (b"authorization", authorization.encode()),
        (b"x-amz-content-sha256", b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + (b"-TRAILER" if trailer else b"")),
        (b"content-encoding", b"aws-chunked"),
        (b"x-amz-decoded-content-length", b"66560"),
        (b"content-length", b"66824"),
    ]
    return headers + ([(b"x-amz-trailer", b"x-amz-checksum-crc32c")] if trailer else [])


def example_body(signatures: list[str], *, trailer: bytes = b"") -> bytes:
    return (
        f"10000;chunk-signature={signatures[0]}\r\n".encode()
        + DATA[:65536]
        + f"\r\n400;chunk-signature={signatures[1]}\r\n".encode()
        + DATA[65536:]
        + f"\r\n0;chunk-signature={signatures[2]}\r\n".encode()
        + trailer
        + b"\r\n"
    )


def verify_example(*, trailer: bool = False) -> Verified:
    return verify_request(
        method="PUT",
        raw_path="/examplebucket/chunkObject.txt",
        query_string=b"",
        headers=example_headers(trailer=trailer),
        body_sha256=None,
        keys=Keys(EXAMPLE_KEY),
        now=EXAMPLE_TIME,
    )


class VerifyingDecoder(AwsChunkedDecoder):
    """The real aws-chunked decoder with each chunk's signature checked as its last byte goes by (how
    the S3 edge wires ChunkSignatureVerifier into app.api.s3.chunked)."""

    def __init__(self, verifier: ChunkSignatureVerifier) -> None:
        super().__init__()
        self.verifier = verifier
        self._chunks: collections.deque[tuple[int, str | None]] = (
            collections.deque()
        )  # headers read, data due
        self._begun = False

    def _on_header(self, line: bytes) -> None:
        super()._on_header(line)
        self._chunks.append((self._remaining, chunk_signature(line)))

    def feed(self, data: bytes) -> list[memoryview]:
        pieces = super().feed(data)
        for piece in pieces:
            while piece:
                piece = self._consume(piece)
        self._consume(memoryview(b""))
        return pieces

    def _consume(self, piece: memoryview) -> memoryview:
        """Hash the part of `piece` that belongs to the current chunk; returns the rest."""
        while self._chunks:
            size, signature = self._chunks[0]
            if not self._begun:
                self.verifier.begin_chunk(signature)
                self._begun = True
            take = min(size, len(piece))
            self.verifier.update(piece[:take])
            if take < size:
                self._chunks[0] = (size - take, signature)
                return piece[take:]
            self.verifier.end_chunk()
            self._chunks.popleft()
            self._begun = False
            piece = piece[take:]
            if piece:
                return piece
        return piece


def decode(verified: Verified, body: bytes, *, slice_size: int) -> tuple[bytes, dict[str, str]]:
    verifier = verified.chunk_verifier()
    assert verifier is not None
    decoder = VerifyingDecoder(verifier)
    out = bytearray()
    for start in range(0, len(body), slice_size):
        out += b"".join(decoder.feed(body[start : start + slice_size]))
    decoder.finish()
    assert verifier.finished
    if verified.payload is PayloadMode.STREAMING_SIGNED_TRAILER:
        verifier.verify_trailers(decoder.trailers)
    return bytes(out), decoder.trailers


def test_the_published_seed_signature_verifies() -> None:
    verified = verify_example()
    assert verified.payload is PayloadMode.STREAMING_SIGNED and verified.payload_check() is None
    assert verified.streaming is not None and verified.streaming.seed_signature == SEED
    assert verified.streaming.scope == "20130524/us-east-1/s3/aws4_request"


@pytest.mark.parametrize("slice_size", [1, 7, 8192, 65536, 70000, 1 << 20])
def test_the_published_chunk_signatures_verify_however_the_body_arrives(slice_size: int) -> None:
    data, trailers = decode(verify_example(), example_body(CHUNKS), slice_size=slice_size)
    assert data == DATA and trailers == {}


def test_the_published_chunks_verify_one_by_one() -> None:
    verifier = verify_example().chunk_verifier()
    assert verifier is not None
    verifier.verify_chunk(CHUNKS[0], DATA[:65536])
    verifier.verify_chunk(CHUNKS[1], DATA[65536:])
    assert not verifier.finished
    verifier.verify_chunk(CHUNKS[2], b"")
    assert verifier.finished


def _payload_failure(body: bytes, *, trailer: bool = False) -> AuthFailure:
    with pytest.raises(AuthFailure) as raised:
        decode(verify_example(trailer=trailer), body, slice_size=4096)
    assert raised.value.reason is Reason.PAYLOAD and raised.value.chunk
    return raised.value


def test_a_tampered_chunk_is_refused() -> None:
    body = bytearray(example_body(CHUNKS))
    body[1000] = ord("b")
    got = _payload_failure(bytes(body))
    assert (s3_error(got).code, s3_error(got).http_status) == ("SignatureDoesNotMatch", 403)


def test_a_tampered_chunk_is_refused_before_the_next_chunk_is_handed_out() -> None:
    body = bytearray(example_body(CHUNKS))
    body[1000] = ord("b")
    verifier = verify_example().chunk_verifier()
    assert verifier is not None
    decoder = VerifyingDecoder(verifier)
    handed_out = 0
    with pytest.raises(AuthFailure):
        for start in range(0, len(body), 4096):
            handed_out += sum(len(piece) for piece in decoder.feed(bytes(body[start : start + 4096])))
    assert handed_out < 65536


@pytest.mark.parametrize(
    "signatures",
    [
        [CHUNKS[1], CHUNKS[0], CHUNKS[2]],  # reordered
        [CHUNKS[0], CHUNKS[1], CHUNKS[1]],  # the final chunk's signature replayed from another
        ["0" * 64, CHUNKS[1], CHUNKS[2]],
        TRAILER_CHUNKS,  # the signatures of another request
    ],
    ids=["reordered", "replayed", "garbage", "another-seed"],
)
def test_wrong_chunk_signatures_are_refused(signatures: list[str]) -> None:
    _payload_failure(example_body(signatures))


def test_a_chunk_without_a_signature_is_refused() -> None:
    body = example_body(CHUNKS).replace(f";chunk-signature={CHUNKS[1]}".encode(), b"")
    _payload_failure(body)


def test_a_truncated_chunk_list_never_finishes() -> None:
    body = example_body(CHUNKS)
    verifier = verify_example().chunk_verifier()
    assert verifier is not None
    decoder = VerifyingDecoder(verifier)
    decoder.feed(body[: body.index(b"0;chunk-signature")])
    assert not verifier.finished


def test_the_published_trailer_example_verifies() -> None:
    verified = verify_example(trailer=True)
    assert verified.payload is PayloadMode.STREAMING_SIGNED_TRAILER
    body = example_body(TRAILER_CHUNKS, trailer=TRAILER + TRAILER_SIGNATURE.encode() + b"\r\n")
    data, trailers = decode(verified, body, slice_size=5000)
    assert data == DATA and trailers["x-amz-checksum-crc32c"] == "sOO8/Q=="


def test_a_tampered_trailer_is_refused() -> None:
    tampered = TRAILER.replace(b"sOO8", b"sOO9") + TRAILER_SIGNATURE.encode() + b"\r\n"
    _payload_failure(example_body(TRAILER_CHUNKS, trailer=tampered), trailer=True)
    unsigned = TRAILER.replace(b"x-amz-trailer-signature:", b"")
    _payload_failure(example_body(TRAILER_CHUNKS, trailer=unsigned), trailer=True)


def test_the_seed_signature_covers_the_headers() -> None:
    headers = [
        (n, b"STANDARD" if n == b"x-amz-storage-class" else v) for n, v in example_headers(trailer=False)
    ]
    with pytest.raises(AuthFailure) as raised:
        verify_request(
            method="PUT",
            raw_path="/examplebucket/chunkObject.txt",
            query_string=b"",
            headers=headers,
            body_sha256=None,
            keys=Keys(EXAMPLE_KEY),
            now=EXAMPLE_TIME,
        )
    assert raised.value.reason is Reason.MISMATCH


def test_botocore_unsigned_payload_trailer_verifies_and_leaves_the_checksum_to_the_body_check() -> None:
    context = {"checksum": {"request_algorithm": {"in": "trailer", "name": "x-amz-checksum-crc32"}}}
    request = signed(
        "PUT",
        "https://127.0.0.1:8000/bucket/key",
        headers={"Content-Encoding": "aws-chunked", "X-Amz-Trailer": "x-amz-checksum-crc32"},
        service="s3",
        context=context,
    )
    assert request.header("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    kwargs = request.kwargs() | {"body_sha256": None}
    verified = verify_request(**kwargs, keys=Keys(), now=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert verified.payload is PayloadMode.STREAMING_UNSIGNED_TRAILER
    assert verified.chunk_verifier() is None and verified.payload_check() is None


def test_chunk_signature_extension_parsing() -> None:
    assert chunk_signature(b"10000;chunk-signature=abc") == "abc"
    assert chunk_signature(b"10000 ; foo=1; chunk-signature=abc") == "abc"
    assert chunk_signature(b"10000") is None
