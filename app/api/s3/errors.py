"""S3 protocol errors: refusals of malformed requests, before or beside the object store's own."""

from __future__ import annotations

from app.errors import ServiceError


class S3Error(ServiceError):
    """A refusal by S3's protocol rules; the code is chosen where it is raised, as S3 has dozens of them."""

    def __init__(self, code: str, message: str, http_status: int = 400, **details: str) -> None:
        super().__init__(message, **details)
        self.code = code
        self.http_status = http_status


def malformed_xml() -> S3Error:
    return S3Error(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )


def invalid_argument(message: str, name: str, value: str) -> S3Error:
    return S3Error("InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def not_implemented(what: str) -> S3Error:
    return S3Error("NotImplemented", f"{what} is not implemented by this server.", 501)


def method_not_allowed(method: str) -> S3Error:
    return S3Error(
        "MethodNotAllowed", "The specified method is not allowed against this resource.", 405, Method=method
    )


def incomplete_body() -> S3Error:
    return S3Error(
        "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length."
    )


def bad_digest(what: str) -> S3Error:
    return S3Error("BadDigest", f"The {what} you specified did not match the calculated checksum.")


def precondition_failed(condition: str) -> S3Error:
    return S3Error(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        412,
        Condition=condition,
    )


def invalid_uri() -> S3Error:
    return S3Error("InvalidURI", "Couldn't parse the specified URI.")
