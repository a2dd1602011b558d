"""The tuning pages: the list (status, strategy, trial counters, best objective) and one tuning job (its
trials, the objective per trial with the best so far, stop). The list re-renders its table every two
seconds (a new tuning job appears without a reload), a tuning job its live part while it runs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.console.guard import ActingDep, services_of
from app.console.rendering import PREFIX, page
from app.console.routers import router
from app.console.tuning_view import LIST_PAGE_SIZE, tuning_rows, tuning_view
from app.tuning.service import ENDED
from app.wire.validate import validate

_STATUSES = ("InProgress", "Stopping", *ENDED)


def _listing_params(request: Request) -> tuple[dict[str, str], dict[str, Any]]:
    """The filters as the links carry them, and ListHyperParameterTuningJobs' request (newest first)."""
    q = request.query_params
    filters = {key: q.get(key, "").strip() for key in ("name", "status", "token")}
    given = {
        "NameContains": filters["name"],
        "StatusEquals": filters["status"],
        "NextToken": filters["token"],
    }
    params = {k: v for k, v in given.items() if v} | {
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": LIST_PAGE_SIZE,
    }
    return filters, validate("ListHyperParameterTuningJobs", params)


async def _listing(request: Request, acting: ActingDep) -> dict[str, Any]:
    filters, params = _listing_params(request)
    services = services_of(request)
    rows, token = await run_in_threadpool(tuning_rows, services, params, caller=acting.caller)
    kept = {k: v for k, v in filters.items() if v}
    return {
        "filters": filters,
        "rows": rows,
        "statuses": _STATUSES,
        "first_url": f"{PREFIX}/tuning?" + urlencode({k: v for k, v in kept.items() if k != "token"}),
        "next_url": None if token is None else f"{PREFIX}/tuning?" + urlencode(kept | {"token": token}),
        "rows_url": f"{PREFIX}/tuning/rows?" + urlencode(kept),
    }


@router.get("/tuning")
async def tuning_page(request: Request, acting: ActingDep) -> Response:
    return page(request, "tuning_jobs.html", acting, **await _listing(request, acting))


@router.get("/tuning/rows")
async def tuning_table(request: Request, acting: ActingDep) -> Response:
    return page(request, "tuning_table.html", acting, **await _listing(request, acting))


def _name(name: str) -> str:
    params: dict[str, str] = validate(
        "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": name}
    )
    return params["HyperParameterTuningJobName"]


async def _render(request: Request, acting: ActingDep, name: str, template: str) -> Response:
    view = await run_in_threadpool(tuning_view, services_of(request), _name(name), caller=acting.caller)
    return page(request, template, acting, view=view)


@router.get("/tuning-job/{name}")
async def tuning_job_page(request: Request, name: str, acting: ActingDep) -> Response:
    return await _render(request, acting, name, "tuning_job.html")


@router.get("/tuning-job/{name}/live")
async def tuning_job_live(request: Request, name: str, acting: ActingDep) -> Response:
    return await _render(request, acting, name, "tuning_live.html")


@router.post("/tuning-job/{name}/stop")
async def stop(request: Request, name: str, acting: ActingDep) -> Response:
    job = _name(name)
    await run_in_threadpool(services_of(request).tuning.stop, job, caller=acting.caller)
    return await _render(request, acting, job, "tuning_live.html")
