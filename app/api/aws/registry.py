"""The AWS JSON services `POST /` speaks, told apart by their `X-Amz-Target` prefix.

Each has its SigV4 signing name (a request signed for another service is refused, as AWS refuses it),
its JSON version (the content type), its botocore model (request validation), its operation table, and
its error form: the code it gives a request that breaks its model, and for CloudWatch, a JSON 1.0 service
that used to speak the Query protocol, the `x-amzn-query-error: <Code>;Sender` header botocore reads the
modeled error code from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.api.aws import logs_operations, metrics_operations, operations
from app.api.aws.operations import Handler


@dataclass(frozen=True)
class JsonService:
    model: str  # botocore's name of the service model
    target_prefix: str  # X-Amz-Target is `<target_prefix>.<Operation>`
    signing_name: str  # the service of the credential scope
    json_version: str
    handlers: Mapping[str, Handler]
    read_only: frozenset[str]
    validation_code: str  # the code of a request that breaks the model (`ValidationException` in SageMaker)
    query_compatible: bool = False
    # Checks of the raw body before the model's validation, for services that word some refusals their
    # own way (CloudWatch's `MissingParameter`).
    precheck: Callable[[str, Any], None] | None = None

    @property
    def content_type(self) -> str:
        return f"application/x-amz-json-{self.json_version}"


SAGEMAKER = JsonService(
    model="sagemaker",
    target_prefix="SageMaker",
    signing_name="sagemaker",
    json_version="1.1",
    handlers=operations.HANDLERS,
    read_only=operations.READ_ONLY,
    validation_code="ValidationException",
)
LOGS = JsonService(
    model="logs",
    target_prefix="Logs_20140328",
    signing_name="logs",
    json_version="1.1",
    handlers=logs_operations.HANDLERS,
    read_only=frozenset(logs_operations.HANDLERS),
    validation_code="InvalidParameterException",
)
MONITORING = JsonService(
    model="cloudwatch",
    target_prefix="GraniteServiceVersion20100801",
    signing_name="monitoring",
    json_version="1.0",
    handlers=metrics_operations.HANDLERS,
    read_only=frozenset(metrics_operations.HANDLERS),
    validation_code="ValidationError",
    query_compatible=True,
    precheck=metrics_operations.require_parameters,
)
_BY_PREFIX = {service.target_prefix: service for service in (SAGEMAKER, LOGS, MONITORING)}


def service_of(target: str | None) -> JsonService:
    """The service an `X-Amz-Target` names; SageMaker for a missing or unknown prefix (whose answer is
    SageMaker's UnknownOperationException, as before other services were served here)."""
    prefix = (target or "").partition(".")[0]
    return _BY_PREFIX.get(prefix, SAGEMAKER)


def is_read_only(target: str | None) -> bool:
    """Whether the operation an `X-Amz-Target` names changes nothing (unknown ones count as changes)."""
    service = service_of(target)
    return (target or "").partition(".")[2] in service.read_only
