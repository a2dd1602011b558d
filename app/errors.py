"""One error hierarchy, raised anywhere, rendered once per surface (AWS JSON on `/`, problem JSON on REST)."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a client may see; carries its AWS code and HTTP statuses."""

    aws_code = "InternalFailure"
    http_status = 500
    rest_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(ServiceError):
    """The request breaks a constraint of the model or of SageMaker's semantics."""

    aws_code = "ValidationException"
    http_status = 400
    rest_status = 400


class NotFound(ValidationError):
    """SageMaker reports unknown training jobs as a ValidationException, not as a 404."""

    rest_status = 404

    def __init__(self, message: str = "Requested resource not found.") -> None:
        super().__init__(message)


class ResourceInUse(ServiceError):
    """Training job names must be unique within an account and region; busy jobs cannot be deleted."""

    aws_code = "ResourceInUse"
    http_status = 400
    rest_status = 409


class ResourceLimitExceeded(ServiceError):
    """The request asks for more than the service can ever provide."""

    aws_code = "ResourceLimitExceeded"
    http_status = 400
    rest_status = 400


class SerializationError(ServiceError):
    """The body is not the JSON the operation expects."""

    aws_code = "SerializationException"
    http_status = 400
    rest_status = 400


class UnknownOperation(ServiceError):
    """The X-Amz-Target names no operation this service implements."""

    aws_code = "UnknownOperationException"
    http_status = 400
    rest_status = 404


class RequestTooLarge(ServiceError):
    """The body exceeds the configured limit; refused before it is read."""

    aws_code = "RequestEntityTooLargeException"
    http_status = 413
    rest_status = 413
