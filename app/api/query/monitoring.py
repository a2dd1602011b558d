"""CloudWatch metrics over the Query protocol (older clients): the JSON 1.0 service's operations, read
from a form and answered in XML."""

from __future__ import annotations

from app.api.aws import metrics_operations
from app.api.query.registry import QueryService

SERVICE = QueryService(
    name="monitoring",
    model_name="cloudwatch",
    handlers=metrics_operations.HANDLERS,
    precheck=metrics_operations.require_parameters,
)
