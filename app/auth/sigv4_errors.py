"""Why a request failed authentication, and how each surface answers it (AWS's codes and statuses).

`AuthFailure.reason` is what went wrong; the surface picks the wire form: `json_error` for the AWS JSON
protocol at `/`, `s3_error` for the S3 API, `rest_status` for the REST routes. JSON-protocol services
answer every signature error with 400 (DynamoDB's and SageMaker's `UnrecognizedClientException`,
`InvalidSignatureException`, `IncompleteSignatureException`, `MissingAuthenticationTokenException`,
`ExpiredTokenException`); S3 answers 403, but 400 for malformed authorization and for tokens.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Reason(enum.StrEnum):
    MISSING = "missing"  # no credentials at all
    UNKNOWN_KEY = "unknown_key"  # the access key id is not known (or was revoked)
    INCOMPLETE = "incomplete"  # malformed or incomplete Authorization / X-Amz-* query parameters
    MISMATCH = "mismatch"  # the signature does not match
    EXPIRED = "expired"  # outside the clock-skew window, or a presigned URL past its X-Amz-Expires
    UNSUPPORTED = "unsupported"  # SigV2, SigV4a or another algorithm
    BAD_TOKEN = "bad_token"  # a session key without (or with the wrong) X-Amz-Security-Token
    EXPIRED_TOKEN = "expired_token"  # a session key past its expiry (STS's ExpiredToken)
    PAYLOAD = "payload"  # the body, a chunk signature or the trailer signature does not match


class Expiry(enum.StrEnum):
    """Which clock check an `expired` failure failed."""

    SKEWED = "skewed"  # the request's time is more than the allowed skew away from now
    PRESIGN_EXPIRED = "presign_expired"  # X-Amz-Date + X-Amz-Expires is past
    NOT_YET_VALID = "not_yet_valid"  # a presigned URL dated in the future (past the skew)


MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


class AuthFailure(Exception):
    """The request is not authenticated; nothing it asks for may happen."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        presigned: bool = False,
        expiry: Expiry | None = None,
        chunk: bool = False,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.presigned = presigned  # the credentials came in the query string (a presigned URL)
        self.expiry = expiry  # set when reason is EXPIRED
        self.chunk = chunk  # a PAYLOAD failure of an aws-chunked chunk or trailer signature


@dataclass(frozen=True, slots=True)
class WireError:
    code: str
    http_status: int
    message: str


_JSON = {
    Reason.MISSING: ("MissingAuthenticationTokenException", "Missing Authentication Token"),
    Reason.UNKNOWN_KEY: (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    Reason.INCOMPLETE: ("IncompleteSignatureException", None),
    Reason.MISMATCH: ("InvalidSignatureException", None),
    Reason.EXPIRED: ("InvalidSignatureException", None),
    Reason.UNSUPPORTED: ("IncompleteSignatureException", None),
    Reason.BAD_TOKEN: (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    Reason.EXPIRED_TOKEN: ("ExpiredTokenException", "The security token included in the request is expired"),
    Reason.PAYLOAD: ("InvalidSignatureException", None),
}

_S3 = {
    Reason.MISSING: ("AccessDenied", 403, "Access Denied"),
    Reason.UNKNOWN_KEY: (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    Reason.MISMATCH: ("SignatureDoesNotMatch", 403, None),
    Reason.UNSUPPORTED: ("InvalidRequest", 400, None),
    Reason.BAD_TOKEN: ("InvalidToken", 400, "The provided token is malformed or otherwise invalid."),
    Reason.EXPIRED_TOKEN: ("ExpiredToken", 400, "The provided token has expired."),
}


def json_error(failure: AuthFailure) -> WireError:
    """The AWS JSON protocol's answer (`__type`, status, message)."""
    code, fixed = _JSON[failure.reason]
    return WireError(code, 400, fixed or failure.message)


def s3_error(failure: AuthFailure) -> WireError:
    """The S3 API's answer (XML `Code`, status, message)."""
    if failure.reason is Reason.INCOMPLETE:
        code = "AuthorizationQueryParametersError" if failure.presigned else "AuthorizationHeaderMalformed"
        return WireError(code, 400, failure.message)
    if failure.reason is Reason.EXPIRED:
        if failure.expiry is Expiry.SKEWED:
            message = "The difference between the request time and the current time is too large."
            return WireError("RequestTimeTooSkewed", 403, message)
        return WireError("AccessDenied", 403, failure.message)
    if failure.reason is Reason.PAYLOAD:
        if failure.chunk:
            return WireError("SignatureDoesNotMatch", 403, failure.message)
        return WireError("XAmzContentSHA256Mismatch", 400, failure.message)
    code, status, fixed = _S3[failure.reason]
    return WireError(code, status, fixed or failure.message)


# The Query protocol's services (STS, IAM) answer signature errors with 403, malformed ones with 400.
_INVALID_TOKEN = "The security token included in the request is invalid."
_QUERY = {
    Reason.MISSING: ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
    Reason.UNKNOWN_KEY: ("InvalidClientTokenId", 403, _INVALID_TOKEN),
    Reason.INCOMPLETE: ("IncompleteSignature", 400, None),
    Reason.MISMATCH: ("SignatureDoesNotMatch", 403, None),
    Reason.EXPIRED: ("SignatureDoesNotMatch", 403, None),
    Reason.UNSUPPORTED: ("IncompleteSignature", 400, None),
    Reason.BAD_TOKEN: ("InvalidClientTokenId", 403, _INVALID_TOKEN),
    Reason.EXPIRED_TOKEN: ("ExpiredToken", 403, "The security token included in the request is expired"),
    Reason.PAYLOAD: ("SignatureDoesNotMatch", 403, None),
}


def query_error(failure: AuthFailure) -> WireError:
    """The Query protocol's answer (XML `Code`, status, message)."""
    code, status, fixed = _QUERY[failure.reason]
    return WireError(code, status, fixed or failure.message)


def rest_status(failure: AuthFailure) -> int:
    """The REST routes' problem-JSON status: 401 without credentials, 403 for every other failure."""
    return 401 if failure.reason is Reason.MISSING else 403
