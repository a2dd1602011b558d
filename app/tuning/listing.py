"""Filters, sort and pages of the two tuning lists (pure, over summaries already read).

An account holds few tuning jobs and a tuning job at most a few hundred trials, so both lists filter and
sort in memory; the token carries the offset, bound to the filters it was issued for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from app.wire import tokens
from app.wire.validate import parse_timestamp

DEFAULT_MAX_RESULTS = 10  # SageMaker's lists hand out 10 items unless told otherwise
_PAGING = ("NextToken", "MaxResults")


def tuning_jobs(
    summaries: Sequence[dict[str, Any]], params: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """ListHyperParameterTuningJobs' page (default: by CreationTime, ascending)."""
    kept = [s for s in summaries if _matches(s, params)]
    sort_by = params.get("SortBy", "CreationTime")
    column = {"Name": "HyperParameterTuningJobName", "Status": "HyperParameterTuningJobStatus"}.get(
        sort_by, sort_by
    )
    return _page(kept, params, key=lambda s: s[column])


def training_jobs(
    summaries: Sequence[dict[str, Any]], params: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """ListTrainingJobsForHyperParameterTuningJob's page (default: by Name, ascending). Sorted by
    FinalObjectiveMetricValue, only the jobs that reported the objective are listed, as on SageMaker."""
    kept = [s for s in summaries if params.get("StatusEquals") in (None, s["TrainingJobStatus"])]
    sort_by = params.get("SortBy", "Name")
    if sort_by == "FinalObjectiveMetricValue":
        kept = [s for s in kept if "FinalHyperParameterTuningJobObjectiveMetric" in s]
        return _page(kept, params, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    column = {"Name": "TrainingJobName", "Status": "TrainingJobStatus"}.get(sort_by, sort_by)
    return _page(kept, params, key=lambda s: s[column])


def _matches(summary: dict[str, Any], params: dict[str, Any]) -> bool:
    name, status = summary["HyperParameterTuningJobName"], summary["HyperParameterTuningJobStatus"]
    if params.get("NameContains") and params["NameContains"].lower() not in name.lower():
        return False
    if params.get("StatusEquals") not in (None, status):
        return False
    bounds = (
        ("CreationTimeAfter", "CreationTime", 1),
        ("CreationTimeBefore", "CreationTime", -1),
        ("LastModifiedTimeAfter", "LastModifiedTime", 1),
        ("LastModifiedTimeBefore", "LastModifiedTime", -1),
    )
    for param, column, side in bounds:
        bound: dt.datetime | None = parse_timestamp(params.get(param))
        if bound is not None and (summary[column] - bound).total_seconds() * side <= 0:
            return False
    return True


def _page(
    items: list[dict[str, Any]], params: dict[str, Any], *, key: Callable[[dict[str, Any]], Any]
) -> tuple[list[dict[str, Any]], str | None]:
    items = sorted(items, key=key, reverse=params.get("SortOrder") == "Descending")
    filters = {k: v for k, v in params.items() if k not in _PAGING}
    offset = 0
    if params.get("NextToken"):
        offset = tokens.decode(params["NextToken"], filters, kinds=(int,))[0]
    limit = params.get("MaxResults", DEFAULT_MAX_RESULTS)
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    return page, tokens.encode([offset + limit], filters) if more else None
