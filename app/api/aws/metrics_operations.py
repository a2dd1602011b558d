"""Operation table of CloudWatch metrics (`GraniteServiceVersion20100801.*`): the caller's job metric
series, read-only."""

from __future__ import annotations

from typing import Any

from app.api.aws.operations import Handler
from app.auth.caller import Caller
from app.cloudwatch.errors import MissingParameter
from app.cloudwatch.metrics.service import MetricsService
from app.services import Services
from app.wire import model


def _metrics(services: Services) -> MetricsService:
    # Stateless over the metric series: made per request, so `Services` needs no new member.
    return MetricsService(series=services.metric_series, clock=services.lifecycle.clock)


def _call(method: str) -> Handler:
    def handle(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = getattr(_metrics(services), method)(params, caller=caller)
        return result

    return handle


def require_parameters(operation: str, body: Any) -> None:
    """CloudWatch names a missing parameter itself (`MissingParameter`), before checking the others."""
    if not isinstance(body, dict):
        return  # the model's validation refuses it
    required = model.input_shape(operation, service="cloudwatch").required_members
    if missing := [name for name in required if body.get(name) is None]:
        raise MissingParameter(f"The parameter {missing[0]} is required.")


HANDLERS: dict[str, Handler] = {
    "ListMetrics": _call("list_metrics"),
    "GetMetricStatistics": _call("get_metric_statistics"),
    "GetMetricData": _call("get_metric_data"),
}
