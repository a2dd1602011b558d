"""Operation table: each SageMaker operation name → the service call that answers it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.services import Services

Handler = Callable[[Services, dict[str, Any]], dict[str, Any]]


def _stop(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    services.jobs.stop(params["TrainingJobName"])
    return {}


def _delete(services: Services, params: dict[str, Any]) -> dict[str, Any]:
    services.jobs.delete(params["TrainingJobName"])
    return {}


HANDLERS: dict[str, Handler] = {
    "CreateTrainingJob": lambda s, p: s.jobs.create(p),
    "DescribeTrainingJob": lambda s, p: s.jobs.describe(p["TrainingJobName"]),
    "ListTrainingJobs": lambda s, p: s.jobs.list(p),
    "StopTrainingJob": _stop,
    "DeleteTrainingJob": _delete,
    "AddTags": lambda s, p: s.tags.add_tags(p["ResourceArn"], p["Tags"]),
    "ListTags": lambda s, p: s.tags.list_tags(
        p["ResourceArn"], next_token=p.get("NextToken"), max_results=p.get("MaxResults", 50)
    ),
    "DeleteTags": lambda s, p: s.tags.delete_tags(p["ResourceArn"], p["TagKeys"]),
}

# Reads never wait on SQLite's write lock (WAL), so they run on the event loop; writes go to a thread.
READ_ONLY = frozenset({"DescribeTrainingJob", "ListTrainingJobs", "ListTags"})
