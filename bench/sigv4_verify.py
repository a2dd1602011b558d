"""The cost of one SigV4 verification, side by side: with and without the signing-key cache, next to
botocore signing the same request.

    .venv/bin/python bench/sigv4_verify.py [--seconds 1] [--rounds 5]

Each row times a loop of `verify_request` (or botocore's `SigV4Auth.add_auth`) on one request for
`--seconds`, `--rounds` times, and shows the best round's µs per call (the least disturbed by other
load on the machine) and the ratio to botocore's signing:

- a DescribeTrainingJob as boto3 sends it (AWS JSON, body hashed by the caller);
- an S3 GetObject with a query string and a Range header, in the Authorization header;
- a presigned S3 URL.

The body's SHA-256 is not part of the verification cost (the edge hashes the body it reads anyway), so
each verification is handed the digest, as the edge will.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from botocore import auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from app.auth.caller import Caller
from app.auth.sigv4 import KeyRecord, verify_request
from app.auth.sigv4_keys import SigningKeyCache

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
KEY = KeyRecord(
    "AKIAEXAMPLE0000001",
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    Caller("123456789012", "AKIAEXAMPLE0000001"),
)
CREDENTIALS = Credentials(KEY.access_key_id, KEY.secret_access_key)
JSON_HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "SageMaker.DescribeTrainingJob",
    "User-Agent": "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux lang/python#3.11",
}
JSON_BODY = b'{"TrainingJobName": "bench-job-0001"}'


class OneKey:
    def lookup(self, access_key_id: str) -> KeyRecord | None:
        return KEY if access_key_id == KEY.access_key_id else None


def _frozen_botocore() -> None:
    auth.get_current_datetime = lambda *a, **k: NOW.replace(tzinfo=None)  # type: ignore[attr-defined]


def _json_request() -> AWSRequest:
    return AWSRequest(method="POST", url="http://127.0.0.1:8000/", headers=dict(JSON_HEADERS), data=JSON_BODY)


def _received(request: AWSRequest) -> dict[str, object]:
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = [(b"host", parts.netloc.encode())]
    headers += [(n.lower().encode(), v.encode()) for n, v in request.headers.items()]
    return {
        "method": request.method,
        "raw_path": parts.path,
        "query_string": parts.query.encode(),
        "headers": headers,
        "body_sha256": hashlib.sha256(prepared.body or b"").hexdigest(),
    }


def cases() -> dict[str, tuple[Callable[[], None], dict[str, object]]]:
    """name → (botocore signing the request once, the received request's verify_request kwargs)."""
    _frozen_botocore()
    json_signer = auth.SigV4Auth(CREDENTIALS, "sagemaker", "us-east-1")
    signed_json = _json_request()
    json_signer.add_auth(signed_json)

    s3_url = "http://127.0.0.1:8000/bucket/data/train%20set.csv?versionId=3&partNumber=1"
    s3_signer = auth.S3SigV4Auth(CREDENTIALS, "s3", "us-east-1")
    signed_s3 = AWSRequest(method="GET", url=s3_url, headers={"Range": "bytes=0-1023"})
    s3_signer.add_auth(signed_s3)

    presigner = auth.S3SigV4QueryAuth(CREDENTIALS, "s3", "us-east-1", expires=3600)
    presigned = AWSRequest(method="GET", url=s3_url)
    presigner.add_auth(presigned)

    return {
        "JSON DescribeTrainingJob": (lambda: json_signer.add_auth(_json_request()), _received(signed_json)),
        "S3 GetObject (header)": (
            lambda: s3_signer.add_auth(
                AWSRequest(method="GET", url=s3_url, headers={"Range": "bytes=0-1023"})
            ),
            _received(signed_s3),
        ),
        "S3 presigned GET": (
            lambda: presigner.add_auth(AWSRequest(method="GET", url=s3_url)),
            _received(presigned),
        ),
    }


def per_call_us(call: Callable[[], object], *, seconds: float, rounds: int) -> float:
    """The least, over `rounds`, of the µs one call costs in a loop of about `seconds`."""
    results = []
    for _ in range(rounds):
        count, start = 0, time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(100):
                call()
            count += 100
            now = time.perf_counter()
            if now >= deadline:
                break
        results.append((now - start) / count * 1e6)
    return min(results)


def verification_us(
    received: dict[str, object], keys: OneKey, cache: SigningKeyCache, args: argparse.Namespace
) -> float:
    def verify() -> object:
        return verify_request(**received, keys=keys, now=NOW, signing_keys=cache)  # type: ignore[arg-type]

    return per_call_us(verify, seconds=args.seconds, rounds=args.rounds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    keys = OneKey()
    cached, uncached = SigningKeyCache(), SigningKeyCache(maxsize=0)
    print(f"{'request':<26} {'verify, cached':>15} {'verify, no cache':>17} {'botocore signs':>15}")
    for name, (sign, received) in cases().items():
        times = [verification_us(received, keys, cache, args) for cache in (cached, uncached)]
        botocore_us = per_call_us(sign, seconds=args.seconds, rounds=args.rounds)
        cells = [f"{us:7.1f} µs {us / botocore_us:4.2f}x" for us in times]
        print(f"{name:<26} {cells[0]:>15} {cells[1]:>17} {botocore_us:8.1f} µs 1x")
    print("(ratios: the verification's time over botocore's signing of the same request)")


if __name__ == "__main__":
    main()
