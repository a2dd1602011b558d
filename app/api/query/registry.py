"""The services the Query protocol dispatches to, by the service their requests are signed for.

A service is its signing name (the credential scope's `sts`, `iam`, CloudWatch's `monitoring`) and a table
of operation handlers; its botocore model gives the operations' shapes, result wrappers and the XML
namespace. `app.api.query.services.SERVICES` lists the ones served: another service is one more entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.auth.caller import Caller
from app.services import Services
from app.wire import model

Handler = Callable[[Services, Caller, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class QueryService:
    name: str  # the signing name, as the credential scope carries it; also botocore's model name
    handlers: Mapping[str, Handler]
    model_name: str | None = None  # botocore's model name where it is not the signing name (`cloudwatch`)
    # Checks of the decoded request before the model's validation, for services that word some refusals
    # their own way (CloudWatch's `MissingParameter`).
    precheck: Callable[[str, Any], None] | None = None

    @property
    def model(self) -> str:
        return self.model_name or self.name

    @property
    def namespace(self) -> str:
        found: str = model.service_model(self.model).metadata["xmlNamespace"]
        return found

    def operation_model(self, operation: str) -> Any:
        return model.service_model(self.model).operation_model(operation)
