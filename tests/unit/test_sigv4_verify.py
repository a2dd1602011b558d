"""SigV4 header authentication, with botocore's own signers as the oracle: what they sign verifies, and
any change to what was signed (header, body, query, path, date, secret) fails with the right reason."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from botocore import auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.auth.caller import Caller
from app.auth.sigv4 import KeyRecord, PayloadMode, Verified, verify_request
from app.auth.sigv4_errors import AuthFailure, Expiry, Reason
from app.auth.sigv4_keys import SigningKeyCache
from tests.support.sigv4_oracle import (
    ACCESS_KEY,
    CALLER,
    NOW,
    RECORD,
    SECRET,
    Keys,
    Received,
    credentials,
    frozen,
    received,
    signed,
)

JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.DescribeTrainingJob"}
JSON_BODY = b'{"TrainingJobName": "job-1"}'


def verify(request: Received, *, keys: Keys | None = None, now: dt.datetime = NOW, **kwargs: Any) -> Verified:
    return verify_request(**request.kwargs(), keys=keys or Keys(), now=now, **kwargs)


def failure(request: Received, **kwargs: Any) -> AuthFailure:
    with pytest.raises(AuthFailure) as raised:
        verify(request, **kwargs)
    return raised.value


def json_request(**kwargs: Any) -> Received:
    return signed("POST", "http://127.0.0.1:8000/", headers=JSON_HEADERS, body=JSON_BODY, **kwargs)


CASES = {
    "json": lambda: json_request(),
    "rest-get": lambda: signed(
        "GET", "http://localhost:8000/v1/training-jobs/job-1/logs?follow=true&limit=5"
    ),
    "rest-dots-and-escapes": lambda: signed(
        "GET", "http://localhost:8000/v1/./objects//b/a%20b/../c%2Bd?x=%2F"
    ),
    "s3-put": lambda: signed(
        "PUT", "http://127.0.0.1:8000/bucket/dir/a%20file%2Bplus.csv", body=b"1,2\n", service="s3"
    ),
    "s3-list": lambda: signed(
        "GET", "http://127.0.0.1:8000/bucket?list-type=2&prefix=a%2Fb%20c&delimiter=%2F", service="s3"
    ),
    "ipv6-port": lambda: signed("GET", "http://[::1]:8000/v1/objects/b/k", headers={"Range": "bytes=0-9"}),
    "other-region": lambda: signed(
        "GET", "https://sagelite.example.com/v1/training-jobs", region="eu-west-3"
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_requests_signed_by_botocore_verify(case: str) -> None:
    request = CASES[case]()
    verified = verify(request)
    assert verified.caller == CALLER
    assert verified.key == RECORD
    assert verified.service == ("s3" if case.startswith("s3") else "sagemaker")
    assert verified.payload is PayloadMode.HASHED
    assert not verified.presigned and verified.body_sha256_pending is None and verified.streaming is None


def test_the_scope_region_is_returned_and_any_region_is_accepted() -> None:
    assert verify(CASES["other-region"]()).region == "eu-west-3"


@pytest.mark.parametrize("name", ["x-amz-target", "content-type", "host"])
def test_changing_any_signed_header_is_a_mismatch(name: str) -> None:
    request = json_request()
    assert request.header(name) is not None
    assert failure(request.with_header(name, request.header(name) + "0")).reason is Reason.MISMATCH


def test_an_unsigned_header_may_change() -> None:
    request = json_request()
    verify(request.with_header("user-agent", "something else"))


def test_changing_the_body_is_a_mismatch_when_its_hash_is_computed_by_the_server() -> None:
    request = json_request()
    assert failure(replace(request, body=JSON_BODY + b" ")).reason is Reason.MISMATCH


def test_changing_the_body_under_a_signed_content_sha256_is_a_payload_failure() -> None:
    request = signed("PUT", "http://127.0.0.1:8000/bucket/key", body=b"data", service="s3")
    got = failure(replace(request, body=b"date"))
    assert got.reason is Reason.PAYLOAD and "x-amz-content-sha256" in got.message


@pytest.mark.parametrize(
    "change",
    [
        lambda r: replace(r, query_string=r.query_string + b"&extra=1"),
        lambda r: replace(r, query_string=r.query_string.replace(b"limit=5", b"limit=6")),
        lambda r: replace(r, raw_path=r.raw_path + "x"),
        lambda r: replace(r, raw_path=r.raw_path.replace("logs", "Logs")),
        lambda r: replace(r, method="POST"),
    ],
    ids=["query-added", "query-value", "path-longer", "path-case", "method"],
)
def test_changing_the_query_path_or_method_is_a_mismatch(change: Any) -> None:
    request = CASES["rest-get"]()
    assert failure(change(request)).reason is Reason.MISMATCH


def test_a_path_signed_for_one_object_never_verifies_for_another_one_encoded_once_more() -> None:
    # "/b/a%20b" is canonically "/b/a%2520b", which is also how "/b/a%2520b" reads when signed as sent
    # (older curl): the as-sent form is never tried for paths holding "%25", so the two stay apart.
    request = signed("GET", "http://localhost:8000/v1/objects/b/a%20b")
    verify(request)
    assert failure(replace(request, raw_path="/v1/objects/b/a%2520b")).reason is Reason.MISMATCH


def test_a_wrong_secret_is_a_mismatch_with_aws_words() -> None:
    got = failure(json_request(creds=credentials(secret=SECRET + "x")))
    assert got.reason is Reason.MISMATCH
    assert got.message.startswith(
        "The request signature we calculated does not match the signature you provided."
    )


def test_a_date_changed_after_signing_is_a_mismatch() -> None:
    request = json_request()
    assert failure(request.with_header("x-amz-date", "20260102T030406Z")).reason is Reason.MISMATCH


def test_an_unknown_key_is_refused() -> None:
    got = failure(json_request(creds=credentials(key="AKIAUNKNOWN")))
    assert got.reason is Reason.UNKNOWN_KEY


def test_no_credentials_at_all_is_missing() -> None:
    request = json_request()
    bare = [(n, v) for n, v in request.headers if n.lower() not in (b"authorization", b"x-amz-date")]
    assert failure(replace(request, headers=bare)).reason is Reason.MISSING


EXPIRED_WORDS = (
    "Signature expired: 20260102T030405Z is now earlier than 20260102T030505Z (20260102T032005Z - 15 min.)"
)
NOT_YET_WORDS = "Signature not yet current: 20260102T030405Z is still later than 20260102T030305Z"


@pytest.mark.parametrize(("minutes", "start"), [(16, EXPIRED_WORDS), (-16, NOT_YET_WORDS)])
def test_a_request_outside_the_skew_window_is_expired(minutes: int, start: str) -> None:
    got = failure(json_request(), now=NOW + dt.timedelta(minutes=minutes))
    assert got.reason is Reason.EXPIRED and got.expiry is Expiry.SKEWED
    assert got.message.startswith(start)


@pytest.mark.parametrize("minutes", [15, -15])
def test_a_request_at_the_edge_of_the_skew_window_verifies(minutes: int) -> None:
    verify(json_request(), now=NOW + dt.timedelta(minutes=minutes))


def test_the_skew_window_is_configurable() -> None:
    assert failure(json_request(), now=NOW + dt.timedelta(minutes=2), max_skew=dt.timedelta(minutes=1)).expiry


def test_a_signed_date_header_is_accepted_in_place_of_x_amz_date() -> None:
    request = signed("GET", "http://localhost:8000/v1/training-jobs", headers={"Date": "whatever"})
    assert (
        request.header("x-amz-date") is None and request.header("date") == "Fri, 02 Jan 2026 03:04:05 -0000"
    )
    verify(request)


def test_header_auth_requires_a_signed_date() -> None:
    request = json_request()
    got = failure(
        replace(request, headers=[(n, v) for n, v in request.headers if n.lower() != b"x-amz-date"])
    )
    assert got.reason is Reason.INCOMPLETE and "X-Amz-Date" in got.message


def _authorization(request: Received, old: str, new: str) -> Received:
    return request.with_header("authorization", request.header("authorization").replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("SignedHeaders=content-type;host;", "SignedHeaders=content-type;", "host header must be signed"),
        (";x-amz-date;", ";", "x-amz-date header must be signed"),
        ("/20260102/", "/20260103/", "Date in Credential scope does not match"),
        ("/aws4_request", "/aws5_request", "Credential should be of the form"),
        ("Signature=", "Sig=", "requires 'Signature' parameter"),
        (", SignedHeaders=", ", Foo=", "requires 'SignedHeaders' parameter"),
        ("content-type;host", "content-type;content-md5;host", "does not carry: content-md5"),
    ],
)
def test_malformed_authorization_is_incomplete(old: str, new: str, words: str) -> None:
    request = _authorization(json_request(), old, new)
    got = failure(request)
    assert got.reason is Reason.INCOMPLETE and words in got.message and not got.presigned


def test_a_garbage_signature_is_a_mismatch() -> None:
    request = json_request()
    signature = request.header("authorization").rpartition("Signature=")[2]
    assert failure(_authorization(request, signature, "garbage")).reason is Reason.MISMATCH


def test_session_credentials_need_their_token() -> None:
    temporary = KeyRecord("ASIAEXAMPLE", "secret", CALLER, session_token="token/with+chars==")
    keys = Keys(temporary)
    good = json_request(creds=credentials("secret", "token/with+chars==", key="ASIAEXAMPLE"))
    assert verify(good, keys=keys).key is temporary
    wrong = json_request(creds=credentials("secret", "another-token", key="ASIAEXAMPLE"))
    assert failure(wrong, keys=keys).reason is Reason.BAD_TOKEN
    without = json_request(creds=credentials("secret", key="ASIAEXAMPLE"))
    assert failure(without, keys=keys).reason is Reason.BAD_TOKEN


def test_a_token_on_a_long_term_key_is_refused() -> None:
    assert failure(json_request(creds=credentials(SECRET, "stray-token"))).reason is Reason.BAD_TOKEN


def test_session_credentials_past_their_expiry_are_refused() -> None:
    temporary = KeyRecord("ASIAEXAMPLE", "secret", CALLER, session_token="t", expires_at=NOW)
    request = json_request(
        creds=credentials("secret", "t", key="ASIAEXAMPLE"), at=NOW - dt.timedelta(minutes=1)
    )
    assert verify(request, keys=Keys(temporary), now=NOW - dt.timedelta(seconds=1))
    got = failure(request, keys=Keys(temporary), now=NOW)
    assert (
        got.reason is Reason.EXPIRED_TOKEN
        and got.message == "The security token included in the request is expired"
    )


def test_repeated_headers_are_joined_with_commas_as_botocore_signs_them() -> None:
    request = AWSRequest(method="GET", url="http://localhost:8000/v1/training-jobs", headers={})
    request.headers["X-Multi"] = "a   b "
    request.headers["X-Multi"] = " c"
    with frozen(NOW):
        auth.SigV4Auth(credentials(), "sagemaker", "us-east-1").add_auth(request)
    got = received(request)
    assert [v for n, v in got.headers if n == b"X-Multi"] == [b"a   b ", b" c"]
    verify(got)
    swapped = [(n, b" c" if v == b"a   b " else b"a b" if v == b" c" else v) for n, v in got.headers]
    assert failure(replace(got, headers=swapped)).reason is Reason.MISMATCH


def test_s3_unsigned_payload_is_signed_as_such_and_leaves_the_body_unchecked() -> None:
    request = signed(
        "PUT",
        "https://127.0.0.1:8000/bucket/key",
        body=b"data",
        service="s3",
        context={"client_config": Config(s3={"payload_signing_enabled": False})},
    )
    assert request.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    verified = verify(replace(request, body=b"anything", body_known=False))
    assert verified.payload is PayloadMode.UNSIGNED and verified.payload_check() is None


def test_unsigned_payload_is_for_s3_only() -> None:
    request = signed(
        "GET", "http://localhost:8000/v1/training-jobs", headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    got = failure(request)
    assert got.reason is Reason.INCOMPLETE and "S3 API alone" in got.message


def test_a_streamed_body_is_checked_against_the_signed_hash_afterwards() -> None:
    request = signed("PUT", "http://127.0.0.1:8000/bucket/key", body=b"0123456789", service="s3")
    verified = verify(replace(request, body_known=False))
    check = verified.payload_check()
    assert check is not None and verified.body_sha256_pending == hashlib.sha256(b"0123456789").hexdigest()
    for piece in (b"01234", b"56789"):
        check.update(piece)
    check.finish()
    tampered = verified.payload_check()
    assert tampered is not None
    tampered.update(b"0123456780")
    with pytest.raises(AuthFailure) as raised:
        tampered.finish()
    assert raised.value.reason is Reason.PAYLOAD


def test_a_streamed_body_of_another_service_needs_a_declared_hash() -> None:
    request = json_request()
    got = failure(replace(request, body_known=False))
    assert got.reason is Reason.INCOMPLETE and "x-amz-content-sha256" in got.message


def test_the_verification_is_the_same_without_the_signing_key_cache() -> None:
    request = json_request()
    uncached = SigningKeyCache(maxsize=0)
    assert verify(request, signing_keys=uncached) == verify(request)
    assert len(uncached) == 0
    assert (
        failure(json_request(creds=credentials(SECRET + "x")), signing_keys=uncached).reason
        is Reason.MISMATCH
    )


def test_a_rotated_secret_does_not_reuse_the_old_signing_key() -> None:
    cache = SigningKeyCache()
    request = json_request()
    verify(request, signing_keys=cache)
    rotated = Keys(KeyRecord(ACCESS_KEY, SECRET + "new", CALLER))
    assert failure(request, keys=rotated, signing_keys=cache).reason is Reason.MISMATCH
    assert len(cache) == 2


def test_the_signing_key_cache_is_bounded() -> None:
    cache = SigningKeyCache(maxsize=3)
    for day in range(10):
        cache.signing_key(access_key_id="a", secret="s", date=f"202601{day:02d}", region="r", service="s")
    assert len(cache) == 3


def test_the_key_record_never_shows_its_secret() -> None:
    shown = repr(KeyRecord(ACCESS_KEY, SECRET, CALLER, session_token="tok"))
    assert SECRET not in shown and "tok'" not in shown


# --- the property: whatever botocore signs verifies; any one change to what it signed fails ----------

_SEGMENT = st.one_of(
    st.sampled_from([".", "..", ""]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8),
)
_PAIR = st.tuples(st.text(max_size=6), st.text(max_size=8))
_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
_HEADERS = st.dictionaries(
    st.text("abcdefghij", min_size=1, max_size=5).map("x-test-".__add__), _VALUE, min_size=1, max_size=3
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[Received, str]:
    service = draw(st.sampled_from(["s3", "sagemaker"]))
    segments = draw(st.lists(_SEGMENT, max_size=4))
    path = "/" + "/".join(quote(segment, safe="") for segment in segments)
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in draw(st.lists(_PAIR, max_size=3))
    )
    request = signed(
        draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"])),
        f"http://127.0.0.1:8000{path}" + (f"?{query}" if query else ""),
        headers=draw(_HEADERS),
        body=draw(st.binary(max_size=64)),
        service=service,
        region=draw(st.sampled_from(["us-east-1", "eu-west-1"])),
    )
    return request, service


def _mutations(request: Received) -> list[tuple[str, Received]]:
    signed_names = request.header("authorization").split("SignedHeaders=")[1].split(",")[0].split(";")
    header = next(name for name in signed_names if name.startswith("x-test-"))
    return [
        ("method", replace(request, method="PATCH")),
        ("path", replace(request, raw_path=request.raw_path + "/x")),
        ("query", replace(request, query_string=request.query_string + b"&zz=1")),
        ("header", request.with_header(header, (request.header(header) or "") + "!")),
        ("body", replace(request, body=request.body + b"!")),
        ("date", request.with_header("x-amz-date", "20260102T030406Z")),
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(), st.integers(min_value=0, max_value=5))
def test_property_signed_requests_verify_and_any_mutation_fails(
    drawn: tuple[Received, str], which: int
) -> None:
    request, service = drawn
    assert verify(request).service == service
    name, mutated = _mutations(request)[which]
    expected = Reason.PAYLOAD if (name == "body" and service == "s3") else Reason.MISMATCH
    assert failure(mutated).reason is expected


@settings(max_examples=30, deadline=None)
@given(requests())
def test_property_a_wrong_secret_never_verifies(drawn: tuple[Received, str]) -> None:
    request, _ = drawn
    other = Keys(KeyRecord(ACCESS_KEY, SECRET[:-1], Caller("123456789012", ACCESS_KEY)))
    assert failure(request, keys=other).reason is Reason.MISMATCH
