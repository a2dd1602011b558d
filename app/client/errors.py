"""Errors of the client, shaped as botocore's: `ClientError` for refusals by the server, the rest for the
connection, waiters and pagination."""

from __future__ import annotations

from typing import Any

NOT_FOUND_MESSAGE = "Requested resource not found."


class SageliteClientError(Exception):
    """Base of every error raised by `app.client`."""


class ClientError(SageliteClientError):
    """The server answered with an error: `.response["Error"]["Code"|"Message"]`, `.operation_name`."""

    MSG_TEMPLATE = (
        "An error occurred ({error_code}) when calling the {operation_name} operation{retry_info}: "
        "{error_message}"
    )

    def __init__(self, error_response: dict[str, Any], operation_name: str) -> None:
        error = error_response.get("Error", {})
        super().__init__(
            self.MSG_TEMPLATE.format(
                error_code=error.get("Code", "Unknown"),
                error_message=error.get("Message", "Unknown"),
                operation_name=operation_name,
                retry_info=_retry_info(error_response),
            )
        )
        self.response = error_response
        self.operation_name = operation_name


class ResourceInUse(ClientError):
    """The name is taken, or the job is busy."""


class ResourceLimitExceeded(ClientError):
    """The request asks for more than the service can ever provide."""


class ResourceNotFound(ClientError):
    """A resource the operation names does not exist (SageMaker says so for few operations)."""


# The exception classes boto3 generates for the errors modelled on these operations (`client.exceptions`).
MODELED = {cls.__name__: cls for cls in (ResourceInUse, ResourceLimitExceeded, ResourceNotFound)}


def client_error(error_response: dict[str, Any], operation_name: str) -> ClientError:
    """The modelled subclass for the error code, else ClientError itself."""
    cls = MODELED.get(error_response.get("Error", {}).get("Code", ""), ClientError)
    return cls(error_response, operation_name)


def is_not_found(error: ClientError) -> bool:
    """True for an unknown job (SageMaker: ValidationException "Requested resource not found.") or a 404."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if status == 404 or code == "ResourceNotFound":
        return True
    return code == "ValidationException" and message == NOT_FOUND_MESSAGE


def _retry_info(response: dict[str, Any]) -> str:
    metadata = response.get("ResponseMetadata", {})
    if metadata.get("MaxAttemptsReached") and "RetryAttempts" in metadata:
        return f" (reached max retries: {metadata['RetryAttempts']})"
    return ""


class EndpointConnectionError(SageliteClientError):
    """Nothing answers at the endpoint (connection refused, unknown host, connect timeout)."""

    def __init__(self, endpoint_url: str, error: Exception | None = None) -> None:
        super().__init__(f'Could not connect to the endpoint URL: "{endpoint_url}"')
        self.endpoint_url = endpoint_url
        self.error = error


class HTTPClientError(SageliteClientError):
    """The connection broke or timed out after the request was sent."""

    def __init__(self, endpoint_url: str, error: Exception) -> None:
        super().__init__(f'An HTTP Client raised an unhandled exception: {error} ("{endpoint_url}")')
        self.endpoint_url = endpoint_url
        self.error = error


class WaiterError(SageliteClientError):
    """A waiter reached a failure state or ran out of attempts; `.last_response` is what it saw last."""

    def __init__(self, name: str, reason: str, last_response: dict[str, Any]) -> None:
        super().__init__(f"Waiter {name} failed: {reason}")
        self.name = name
        self.reason = reason
        self.last_response = last_response


class PaginationError(SageliteClientError):
    def __init__(self, message: str) -> None:
        super().__init__(f"Error during pagination: {message}")


class ArtifactError(SageliteClientError):
    """A downloaded artifact failed its checksum or holds entries that may not be unpacked."""
