"""Presigned URLs (query-string SigV4) from botocore's query signers and `generate_presigned_url`: they
verify until X-Amz-Expires has passed, and SigV2 / SigV4a are refused as unsupported."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

from app.auth.sigv4 import PayloadMode, Verified, verify_request
from app.auth.sigv4_errors import AuthFailure, Expiry, Reason, s3_error
from tests.support.sigv4_oracle import (
    ACCESS_KEY,
    NOW,
    SECRET,
    Keys,
    Received,
    credentials,
    frozen,
    presigned,
    received,
)

URL = "http://127.0.0.1:8000/bucket/data/train%20set.csv"


def verify(request: Received, *, now: dt.datetime = NOW, **kwargs: Any) -> Verified:
    return verify_request(**request.kwargs(), keys=Keys(), now=now, **kwargs)


def failure(request: Received, *, now: dt.datetime = NOW) -> AuthFailure:
    with pytest.raises(AuthFailure) as raised:
        verify(request, now=now)
    return raised.value


def with_query(request: Received, old: bytes, new: bytes) -> Received:
    assert old in request.query_string
    return replace(request, query_string=request.query_string.replace(old, new))


def test_an_s3_presigned_url_verifies_with_an_unsigned_payload() -> None:
    verified = verify(presigned("GET", URL + "?versionId=3"))
    assert verified.presigned and verified.service == "s3"
    assert verified.payload is PayloadMode.UNSIGNED and verified.content_sha256 == "UNSIGNED-PAYLOAD"


def test_a_presigned_put_takes_any_body() -> None:
    request = presigned("PUT", URL, headers={"Content-Type": "text/csv"})
    verify(replace(request, body=b"a,b\n1,2\n", body_known=False))


def test_a_presigned_url_of_another_service_signs_the_body_hash_as_botocore_does() -> None:
    request = presigned("GET", "http://127.0.0.1:8000/v1/training-jobs/job-1/model", service="sagemaker")
    assert verify(request).payload is PayloadMode.HASHED


def test_generate_presigned_url_verifies() -> None:
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:8000",
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    with frozen(NOW):
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": "bucket", "Key": "a b/c+d.txt"}, ExpiresIn=600
        )
    parts = urlsplit(url)
    request = Received("GET", parts.path, parts.query.encode(), [(b"host", parts.netloc.encode())], b"")
    assert verify(request, now=NOW + dt.timedelta(seconds=600)).presigned
    got = failure(request, now=NOW + dt.timedelta(seconds=601))
    assert got.reason is Reason.EXPIRED and got.expiry is Expiry.PRESIGN_EXPIRED


@pytest.mark.parametrize("seconds", [0, 60, 7 * 24 * 3600])
def test_a_presigned_url_works_until_it_expires(seconds: int) -> None:
    request = presigned("GET", URL, expires=seconds)
    verify(request, now=NOW + dt.timedelta(seconds=seconds))
    got = failure(request, now=NOW + dt.timedelta(seconds=seconds + 1))
    assert (got.reason, got.expiry, got.message) == (
        Reason.EXPIRED,
        Expiry.PRESIGN_EXPIRED,
        "Request has expired",
    )
    assert s3_error(got).code == "AccessDenied" and s3_error(got).http_status == 403


def test_a_presigned_url_from_the_future_is_not_valid_yet() -> None:
    request = presigned("GET", URL, at=NOW + dt.timedelta(minutes=16))
    got = failure(request)
    assert got.reason is Reason.EXPIRED and got.expiry is Expiry.NOT_YET_VALID
    verify(presigned("GET", URL, at=NOW + dt.timedelta(minutes=14)))


def test_x_amz_expires_over_seven_days_is_refused() -> None:
    request = presigned("GET", URL, expires=604801)
    got = failure(request)
    assert got.reason is Reason.INCOMPLETE and got.presigned and "604800" in got.message
    assert (s3_error(got).code, s3_error(got).http_status) == ("AuthorizationQueryParametersError", 400)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"X-Amz-Expires=3600", b"X-Amz-Expires=7200", Reason.MISMATCH),
        (b"versionId=3", b"versionId=4", Reason.MISMATCH),
        (b"X-Amz-Date=20260102T030405Z", b"X-Amz-Date=20260102T030406Z", Reason.MISMATCH),
        (b"X-Amz-SignedHeaders=host", b"X-Amz-SignedHeaders=x-amz-date", Reason.INCOMPLETE),
        (b"X-Amz-Expires=3600", b"X-Amz-Expires=soon", Reason.INCOMPLETE),
        (b"X-Amz-Expires=3600&", b"", Reason.INCOMPLETE),
        (b"X-Amz-Algorithm=AWS4-HMAC-SHA256", b"X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256", Reason.UNSUPPORTED),
        (b"&X-Amz-Signature=", b"&X-Amz-Signature=0&X-Amz-Signature=", Reason.INCOMPLETE),
    ],
)
def test_changing_a_presigned_url_fails(old: bytes, new: bytes, reason: Reason) -> None:
    got = failure(with_query(presigned("GET", URL + "?versionId=3"), old, new))
    assert got.reason is reason and got.presigned


def test_changing_the_path_or_the_host_of_a_presigned_url_fails() -> None:
    request = presigned("GET", URL)
    assert failure(replace(request, raw_path=request.raw_path + "x")).reason is Reason.MISMATCH
    assert failure(request.with_header("host", "127.0.0.1:8001")).reason is Reason.MISMATCH


def test_a_presigned_url_with_the_wrong_secret_fails() -> None:
    assert failure(presigned("GET", URL, creds=credentials(SECRET + "x"))).reason is Reason.MISMATCH


def test_a_presigned_url_and_an_authorization_header_together_are_refused() -> None:
    request = presigned("GET", URL).with_header("authorization", "AWS4-HMAC-SHA256 Credential=x")
    assert failure(request).reason is Reason.INCOMPLETE


def test_presigned_session_credentials_carry_their_token_in_the_query() -> None:
    from app.auth.sigv4 import KeyRecord
    from tests.support.sigv4_oracle import CALLER

    record = KeyRecord("ASIAEXAMPLE", "secret", CALLER, session_token="tok")
    request = presigned("GET", URL, creds=credentials("secret", "tok", key="ASIAEXAMPLE"))
    assert b"X-Amz-Security-Token=tok" in request.query_string
    assert verify_request(**request.kwargs(), keys=Keys(record), now=NOW).key is record


# --- SigV2 and SigV4a are refused ----------------------------------------------------------------------


def _sigv2(signer: Any, url: str) -> Received:
    request = AWSRequest(method="GET", url=url, headers={})
    signer.add_auth(request)
    return received(request)


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(lambda: _sigv2(auth.HmacV1Auth(credentials()), URL), id="s3-sigv2-header"),
        pytest.param(
            lambda: _sigv2(auth.HmacV1QueryAuth(credentials(), expires=60), URL), id="s3-sigv2-query"
        ),
        pytest.param(
            lambda: _sigv2(auth.SigV2Auth(credentials()), "http://127.0.0.1:8000/"), id="query-api-sigv2"
        ),
    ],
)
def test_sigv2_is_refused_as_unsupported(request_: Any) -> None:
    got = failure(request_())
    assert got.reason is Reason.UNSUPPORTED and "Signature Version 2" in got.message
    assert s3_error(got).code == "InvalidRequest"


def test_sigv4a_is_refused_as_unsupported() -> None:
    header = (
        f"AWS4-ECDSA-P256-SHA256 Credential={ACCESS_KEY}/20260102/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045022100abcdef"
    )
    request = Received(
        "GET",
        "/bucket/key",
        b"",
        [
            (b"host", b"127.0.0.1"),
            (b"x-amz-date", b"20260102T030405Z"),
            (b"x-amz-region-set", b"*"),
            (b"authorization", header.encode()),
        ],
        b"",
    )
    got = failure(request)
    assert got.reason is Reason.UNSUPPORTED and "SigV4a" in got.message
