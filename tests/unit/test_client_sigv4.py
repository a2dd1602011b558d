"""app.client.sigv4 against botocore's own signers, on the same requests at the same instant."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from botocore import auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from app.client import sigv4

NOW = dt.datetime(2024, 5, 17, 12, 34, 56, tzinfo=dt.UTC)
KEYS = sigv4.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TEMPORARY = sigv4.Credentials("ASIAEXAMPLE", "secret", "session-token/with+chars==")

CASES: list[tuple[str, str, str, dict[str, str], bytes]] = [
    (
        "sagemaker",
        "POST",
        "http://127.0.0.1:8000/",
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListTrainingJobs"},
        b'{"MaxResults":10}',
    ),
    ("sagemaker", "GET", "https://sagelite.example.com/v1/training-jobs/job-1/logs?follow=true", {}, b""),
    ("sagemaker", "GET", "http://localhost:8000/v1/./objects//b/a%20b/../c", {"Range": "bytes=0-9"}, b""),
    ("s3", "GET", "http://127.0.0.1:8000/bucket?list-type=2&prefix=a%2Fb%20c&delimiter=%2F", {}, b""),
    (
        "s3",
        "PUT",
        "http://127.0.0.1:9000/bucket/dir/a%20file%2Bplus.csv",
        {"Content-Type": "text/csv"},
        b"1,2\n",
    ),
    ("sagemaker", "PUT", "http://[::1]:8000/v1/objects/b/k", {"X-Checksum-Sha256": "  ab   cd "}, b"x"),
]


def _botocore(
    service: str, method: str, url: str, headers: dict[str, str], body: bytes, creds: Any
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, headers=headers, data=body)
    credentials = Credentials(creds.access_key, creds.secret_key, creds.token)
    signer = auth.S3SigV4Auth if service == "s3" else auth.SigV4Auth
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "get_current_datetime", lambda *a, **k: NOW.replace(tzinfo=None))
        signer(credentials, service, "eu-west-1").add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


@pytest.mark.parametrize("creds", [KEYS, TEMPORARY], ids=["keys", "session-token"])
@pytest.mark.parametrize(("service", "method", "url", "headers", "body"), CASES)
def test_signature_matches_botocore(
    service: str, method: str, url: str, headers: dict[str, str], body: bytes, creds: sigv4.Credentials
) -> None:
    added = sigv4.sign(
        method=method,
        url=url,
        headers=headers,
        payload_sha256=hashlib.sha256(body).hexdigest(),
        credentials=creds,
        region="eu-west-1",
        service=service,
        now=NOW,
    )
    expected = _botocore(service, method, url, headers, body, creds)
    ours = {k.lower(): v for k, v in {**headers, **added}.items()}
    assert ours == expected


def test_unsigned_headers_are_left_out_and_host_is_always_signed() -> None:
    added = sigv4.sign(
        method="GET",
        url="https://example.com:443/",
        headers={"User-Agent": "x", "Connection": "close"},
        payload_sha256=sigv4.EMPTY_SHA256,
        credentials=KEYS,
        region="us-east-1",
        service="sagemaker",
        now=NOW,
    )
    assert "SignedHeaders=host;x-amz-date," in added["Authorization"]
    assert "Credential=AKIDEXAMPLE/20240517/us-east-1/sagemaker/aws4_request" in added["Authorization"]


def test_signing_key_matches_the_aws_documentation_example() -> None:
    # From AWS's "Examples of how to derive a signing key for Signature Version 4".
    key = sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


PRESIGN_CASES = [
    ("s3", "GET", "http://127.0.0.1:8000/bucket/dir/a%20file%2Bplus.csv"),
    ("s3", "PUT", "http://127.0.0.1:8000/bucket/k?x-id=PutObject"),
    ("sagemaker", "GET", "http://127.0.0.1:8000/v1/training-jobs/job-1/model"),
    ("sagemaker", "GET", "https://sagelite.example.com/v1/objects/b/a%20b/c.csv"),
]


@pytest.mark.parametrize("creds", [KEYS, TEMPORARY], ids=["keys", "session-token"])
@pytest.mark.parametrize(("service", "method", "url"), PRESIGN_CASES)
def test_presigned_urls_match_botocore(service: str, method: str, url: str, creds: sigv4.Credentials) -> None:
    ours = sigv4.presign(
        method=method,
        url=url,
        credentials=creds,
        region="eu-west-1",
        service=service,
        now=NOW,
        expires_in=900,
    )
    request = AWSRequest(method=method, url=url)
    credentials = Credentials(creds.access_key, creds.secret_key, creds.token)
    signer = auth.S3SigV4QueryAuth if service == "s3" else auth.SigV4QueryAuth
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "get_current_datetime", lambda *a, **k: NOW.replace(tzinfo=None))
        signer(credentials, service, "eu-west-1", expires=900).add_auth(request)
    assert _query(ours) == _query(request.url)
    assert ours.partition("?")[0] == request.url.partition("?")[0]


def test_presigned_urls_last_at_most_seven_days() -> None:
    for expires_in in (0, 7 * 24 * 3600 + 1):
        with pytest.raises(ValueError, match="seven days"):
            sigv4.presign(
                method="GET",
                url="http://h/b/k",
                credentials=KEYS,
                region="us-east-1",
                service="s3",
                now=NOW,
                expires_in=expires_in,
            )


def _query(url: str) -> dict[str, str]:
    return dict(pair.partition("=")[::2] for pair in url.partition("?")[2].split("&"))
