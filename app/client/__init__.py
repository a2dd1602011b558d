"""A boto3-compatible SageMaker client for sagelite, over httpx (it imports nothing else but the stdlib).

from app.client import SageMakerClient
sm = SageMakerClient(endpoint_url="http://127.0.0.1:8000")
sm.create_training_job(**request)
sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="demo")
"""

from app.client.client import DEFAULT_ENDPOINT, SageMakerClient
from app.client.errors import (
    ArtifactError,
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    PaginationError,
    ResourceInUse,
    ResourceLimitExceeded,
    ResourceNotFound,
    SageliteClientError,
    WaiterError,
    is_not_found,
)

__all__ = [
    "DEFAULT_ENDPOINT",
    "ArtifactError",
    "ClientError",
    "EndpointConnectionError",
    "HTTPClientError",
    "PaginationError",
    "ResourceInUse",
    "ResourceLimitExceeded",
    "ResourceNotFound",
    "SageMakerClient",
    "SageliteClientError",
    "WaiterError",
    "is_not_found",
]
