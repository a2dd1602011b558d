"""S3 protocol errors (malformed requests) and the one place every error becomes S3's XML."""

from __future__ import annotations

from app.storage import errors as storage_errors


class S3Error(Exception):
    """A refusal rendered as `<Error><Code>…</Code><Message>…</Message>…</Error>` with `status`."""

    def __init__(self, code: str, message: str, status: int = 400, **details: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details


def from_storage(exc: storage_errors.StorageError) -> S3Error:
    return S3Error(exc.code, exc.message, exc.http_status, **exc.details)


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
