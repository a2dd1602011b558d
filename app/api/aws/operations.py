"""Operation table: each SageMaker operation name → the service call that answers it, for one caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.auth.caller import Caller
from app.services import Services

Handler = Callable[[Services, Caller, dict[str, Any]], dict[str, Any]]


def _stop(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    services.jobs.stop(params["TrainingJobName"], caller=caller)
    return {}


def _delete(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    services.jobs.delete(params["TrainingJobName"], caller=caller)
    return {}


def _stop_tuning(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    services.tuning.stop(params["HyperParameterTuningJobName"], caller=caller)
    return {}


def _delete_tuning(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    services.tuning.delete(params["HyperParameterTuningJobName"], caller=caller)
    return {}


HANDLERS: dict[str, Handler] = {
    "CreateTrainingJob": lambda s, c, p: s.jobs.create(p, caller=c),
    "DescribeTrainingJob": lambda s, c, p: s.jobs.describe(p["TrainingJobName"], caller=c),
    "ListTrainingJobs": lambda s, c, p: s.jobs.list(p, caller=c),
    "StopTrainingJob": _stop,
    "DeleteTrainingJob": _delete,
    "AddTags": lambda s, c, p: s.tags.add_tags(p["ResourceArn"], p["Tags"], caller=c),
    "ListTags": lambda s, c, p: s.tags.list_tags(
        p["ResourceArn"], caller=c, next_token=p.get("NextToken"), max_results=p.get("MaxResults", 50)
    ),
    "DeleteTags": lambda s, c, p: s.tags.delete_tags(p["ResourceArn"], p["TagKeys"], caller=c),
    "CreateHyperParameterTuningJob": lambda s, c, p: s.tuning.create(p, caller=c),
    "DescribeHyperParameterTuningJob": lambda s, c, p: s.tuning.describe(
        p["HyperParameterTuningJobName"], caller=c
    ),
    "ListHyperParameterTuningJobs": lambda s, c, p: s.tuning.list(p, caller=c),
    "ListTrainingJobsForHyperParameterTuningJob": lambda s, c, p: s.tuning.list_training_jobs(p, caller=c),
    "StopHyperParameterTuningJob": _stop_tuning,
    "DeleteHyperParameterTuningJob": _delete_tuning,
}

# Reads never wait on SQLite's write lock (WAL), so they run on the event loop; writes go to a thread.
READ_ONLY = frozenset(
    {
        "DescribeTrainingJob",
        "ListTrainingJobs",
        "ListTags",
        "DescribeHyperParameterTuningJob",
        "ListHyperParameterTuningJobs",
        "ListTrainingJobsForHyperParameterTuningJob",
    }
)
