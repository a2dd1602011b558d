"""Each authentication failure as each surface answers it: AWS's codes and HTTP statuses."""

from __future__ import annotations

import pytest

from app.auth.sigv4_errors import (
    MISMATCH_MESSAGE,
    AuthFailure,
    Expiry,
    Reason,
    json_error,
    rest_status,
    s3_error,
)

SKEWED = AuthFailure(Reason.EXPIRED, "Signature expired: ...", expiry=Expiry.SKEWED)
PRESIGN_EXPIRED = AuthFailure(
    Reason.EXPIRED, "Request has expired", presigned=True, expiry=Expiry.PRESIGN_EXPIRED
)


@pytest.mark.parametrize(
    ("failure", "json_code", "s3_code", "s3_status", "rest"),
    [
        (AuthFailure(Reason.MISSING, "m"), "MissingAuthenticationTokenException", "AccessDenied", 403, 401),
        (AuthFailure(Reason.UNKNOWN_KEY, "m"), "UnrecognizedClientException", "InvalidAccessKeyId", 403, 403),
        (
            AuthFailure(Reason.INCOMPLETE, "m"),
            "IncompleteSignatureException",
            "AuthorizationHeaderMalformed",
            400,
            403,
        ),
        (
            AuthFailure(Reason.INCOMPLETE, "m", presigned=True),
            "IncompleteSignatureException",
            "AuthorizationQueryParametersError",
            400,
            403,
        ),
        (
            AuthFailure(Reason.MISMATCH, MISMATCH_MESSAGE),
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
            403,
            403,
        ),
        (SKEWED, "InvalidSignatureException", "RequestTimeTooSkewed", 403, 403),
        (PRESIGN_EXPIRED, "InvalidSignatureException", "AccessDenied", 403, 403),
        (AuthFailure(Reason.UNSUPPORTED, "m"), "IncompleteSignatureException", "InvalidRequest", 400, 403),
        (AuthFailure(Reason.BAD_TOKEN, "m"), "UnrecognizedClientException", "InvalidToken", 400, 403),
        (AuthFailure(Reason.EXPIRED_TOKEN, "m"), "ExpiredTokenException", "ExpiredToken", 400, 403),
        (
            AuthFailure(Reason.PAYLOAD, "m"),
            "InvalidSignatureException",
            "XAmzContentSHA256Mismatch",
            400,
            403,
        ),
        (
            AuthFailure(Reason.PAYLOAD, "m", chunk=True),
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
            403,
            403,
        ),
    ],
)
def test_each_failure_maps_to_aws_codes(
    failure: AuthFailure, json_code: str, s3_code: str, s3_status: int, rest: int
) -> None:
    assert (json_error(failure).code, json_error(failure).http_status) == (json_code, 400)
    assert (s3_error(failure).code, s3_error(failure).http_status) == (s3_code, s3_status)
    assert rest_status(failure) == rest


def test_the_messages_are_aws_words() -> None:
    assert json_error(AuthFailure(Reason.MISSING, "x")).message == "Missing Authentication Token"
    assert json_error(AuthFailure(Reason.UNKNOWN_KEY, "x")).message == (
        "The security token included in the request is invalid."
    )
    assert json_error(SKEWED).message == "Signature expired: ..."
    assert (
        s3_error(SKEWED).message
        == "The difference between the request time and the current time is too large."
    )
    assert s3_error(AuthFailure(Reason.MISMATCH, MISMATCH_MESSAGE)).message == MISMATCH_MESSAGE


def test_every_reason_has_an_answer_on_every_surface() -> None:
    for reason in Reason:
        failure = AuthFailure(reason, "m", expiry=Expiry.SKEWED)
        assert json_error(failure).code and s3_error(failure).code and rest_status(failure) in (401, 403)
