"""One error hierarchy, raised anywhere, rendered once per surface.

Every refusal a client may see is a `ServiceError`: a `code`, a `message` and an `http_status`, plus the
`details` one protocol adds to its body (S3's `<BucketName>`, `<Key>`, `<UploadId>`). Each surface renders
it in one place: AWS JSON in `app.api.aws.protocol`, S3's XML in `app.api.s3.routing`, problem JSON in
`app.api.rest.responses`. The object store's errors (`app.storage.errors`) and the S3 protocol's
(`app.api.s3.errors`) are branches of this tree.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a client may see; carries its code and HTTP status."""

    code = "InternalFailure"
    http_status = 500

    def __init__(self, message: str, **details: str) -> None:
        super().__init__(message)
        self.message = message
        # Extra elements S3 puts in its <Error> body (BucketName, Key, UploadId); other surfaces omit them.
        self.details = details

    @property
    def rest_status(self) -> int:
        """The status on the REST routes: the same as on the AWS surfaces unless a class says otherwise."""
        return self.http_status


class ValidationError(ServiceError):
    """The request breaks a constraint of the model or of SageMaker's semantics."""

    code = "ValidationException"
    http_status = 400


class NotFound(ValidationError):
    """SageMaker reports unknown training jobs as a ValidationException, not as a 404; REST says 404."""

    rest_status = 404

    def __init__(self, message: str = "Requested resource not found.") -> None:
        super().__init__(message)


class AccessDenied(ServiceError):
    """The caller may not use what the request names (another account's role). SageMaker, a JSON 1.1
    service, answers it with HTTP 400 as it does its other client errors; REST says 403."""

    code = "AccessDeniedException"
    http_status = 400
    rest_status = 403


class ResourceInUse(ServiceError):
    """Training job names must be unique within an account and region; busy jobs cannot be deleted."""

    code = "ResourceInUse"
    http_status = 400
    rest_status = 409


class ResourceLimitExceeded(ServiceError):
    """The request asks for more than the service can ever provide."""

    code = "ResourceLimitExceeded"
    http_status = 400


class SerializationError(ServiceError):
    """The body is not the JSON the operation expects."""

    code = "SerializationException"
    http_status = 400


class UnknownOperation(ServiceError):
    """The X-Amz-Target names no operation this service implements."""

    code = "UnknownOperationException"
    http_status = 400
    rest_status = 404


class RequestTooLarge(ServiceError):
    """The body exceeds the configured limit; refused before it is read."""

    code = "RequestEntityTooLargeException"
    http_status = 413


class Throttled(ServiceError):
    """The access key's token bucket is empty; AWS JSON services answer 400, REST says 429."""

    code = "ThrottlingException"
    http_status = 400
    rest_status = 429

    def __init__(self, message: str = "Rate exceeded") -> None:
        super().__init__(message)
