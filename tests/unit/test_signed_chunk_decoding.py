"""The aws-chunked decoder checks each chunk's signature as it streams, however the body is split, with
AWS's published STREAMING-AWS4-HMAC-SHA256-PAYLOAD example as the oracle."""

from __future__ import annotations

import pytest

from app.api.edge.payload import SignedChunks
from app.api.s3.chunked import AwsChunkedDecoder, ChunkSignatureError
from app.auth.chunk_signatures import ChunkSignatureVerifier, StreamingSigning
from app.client.sigv4 import signing_key

# "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks" (S3 docs).
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
DATA = b"a" * 66560
CHUNKS = [DATA[:65536], DATA[65536:], b""]
WIRE = b"".join(
    b"%x;chunk-signature=%s\r\n%s\r\n" % (len(chunk), signature.encode(), chunk)
    for chunk, signature in zip(CHUNKS, SIGNATURES, strict=True)
)


def decoder() -> AwsChunkedDecoder:
    signing = StreamingSigning(
        seed_signature=SEED,
        signing_key=signing_key(SECRET, "20130524", "us-east-1", "s3"),
        amz_date="20130524T000000Z",
        scope="20130524/us-east-1/s3/aws4_request",
    )
    return AwsChunkedDecoder(signatures=SignedChunks(ChunkSignatureVerifier(signing), trailer=False))


@pytest.mark.parametrize("step", [1, 7, 1000, 65540, len(WIRE)])
def test_the_published_example_decodes_whatever_the_split(step: int) -> None:
    chunked = decoder()
    out = b"".join(bytes(p) for i in range(0, len(WIRE), step) for p in chunked.feed(WIRE[i : i + step]))
    chunked.finish()
    assert out == DATA


@pytest.mark.parametrize(
    "wire",
    [
        WIRE.replace(b"a" * 16, b"a" * 15 + b"b", 1),  # a byte of the first chunk
        WIRE.replace(SIGNATURES[1].encode(), SIGNATURES[0].encode()),  # a signature out of its place
        WIRE.replace(b";chunk-signature=" + SIGNATURES[2].encode(), b""),  # the final chunk unsigned
    ],
    ids=["tampered-byte", "reordered-signature", "unsigned-final-chunk"],
)
def test_a_tampered_body_is_refused(wire: bytes) -> None:
    with pytest.raises(ChunkSignatureError):
        decoder().feed(wire)
