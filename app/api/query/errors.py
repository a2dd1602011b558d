"""The Query services' own error codes, and how the service-wide errors read in their protocol."""

from __future__ import annotations

from app.errors import ServiceError

# Codes of the service-wide tree under the names the Query services give them.
QUERY_CODES = {
    "ValidationException": "ValidationError",
    "SerializationException": "ValidationError",
    "ThrottlingException": "Throttling",
    "AccessDeniedException": "AccessDenied",
    "InternalFailure": "InternalFailure",
}


class InvalidAction(ServiceError):
    """The `Action` names no operation of the service (or the service does not speak the Query protocol)."""

    code = "InvalidAction"
    http_status = 400


class QueryAccessDenied(ServiceError):
    """STS refuses to let a caller assume another account's role with 403 `AccessDenied`."""

    code = "AccessDenied"
    http_status = 403


def wire_code(error: ServiceError) -> str:
    return QUERY_CODES.get(error.code, error.code)
