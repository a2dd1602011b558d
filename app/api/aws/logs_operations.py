"""Operation table of CloudWatch Logs (`Logs_20140328.*`): the caller's job logs, read-only."""

from __future__ import annotations

from typing import Any

from app.api.aws.operations import Handler
from app.auth.caller import Caller
from app.cloudwatch.logs.service import LogsService
from app.services import Services


def _logs(services: Services) -> LogsService:
    # Stateless over the data directory and the jobs: made per request, so `Services` needs no new member.
    settings = services.settings
    return LogsService(work_dir=settings.data_dir, jobs=services.jobs, region=settings.region)


def _call(method: str) -> Handler:
    def handle(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = getattr(_logs(services), method)(params, caller=caller)
        return result

    return handle


HANDLERS: dict[str, Handler] = {
    "DescribeLogGroups": _call("describe_log_groups"),
    "DescribeLogStreams": _call("describe_log_streams"),
    "GetLogEvents": _call("get_log_events"),
    "FilterLogEvents": _call("filter_log_events"),
}
