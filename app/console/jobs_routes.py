"""The jobs page: filter by status and name, sort, page on and back with the list's own keyset tokens
(pages stay put while jobs are created). The table re-renders itself every few seconds (htmx polling of
`/console/jobs/rows`), so statuses move without a reload; each render reads one page (50 jobs) through
the keyset-paginated ListTrainingJobs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.console.guard import ActingDep, services_of
from app.console.rendering import PREFIX, page
from app.console.routers import router
from app.errors import ValidationError
from app.jobs.status import Status
from app.wire.validate import validate

PAGE_SIZE = 50
STATUSES = tuple(s.value for s in Status)
SORTS = ("CreationTime", "Name", "Status")


@dataclass(frozen=True)
class JobFilters:
    status: str = ""
    name: str = ""
    sort: str = "CreationTime"
    order: str = "Descending"
    token: str = ""

    @classmethod
    def of(cls, request: Request) -> JobFilters:
        q = request.query_params
        filters = cls(
            status=q.get("status", ""),
            name=q.get("name", "").strip(),
            sort=q.get("sort", "CreationTime"),
            order=q.get("order", "Descending"),
            token=q.get("token", ""),
        )
        if filters.status not in ("", *STATUSES) or filters.sort not in SORTS:
            raise ValidationError("Unknown status or sort column.")
        if filters.order not in ("Ascending", "Descending"):
            raise ValidationError("The order is Ascending or Descending.")
        return filters

    def params(self) -> dict[str, Any]:
        """ListTrainingJobs' request for this page."""
        given = {"StatusEquals": self.status, "NameContains": self.name, "NextToken": self.token}
        params = {k: v for k, v in given.items() if v}
        return params | {"SortBy": self.sort, "SortOrder": self.order, "MaxResults": PAGE_SIZE}

    def query(self, **changes: str) -> str:
        fields = {"status": self.status, "name": self.name, "sort": self.sort, "order": self.order}
        fields |= {"token": self.token} | changes
        return urlencode({k: v for k, v in fields.items() if v})

    def sorted_by(self, column: str) -> str:
        """The link of a column header: sort by it, flipping the order when it already sorts."""
        flipped = "Ascending" if self.order == "Descending" else "Descending"
        return self.query(sort=column, order=flipped if column == self.sort else "Descending", token="")


async def _listing(request: Request, acting: ActingDep) -> dict[str, Any]:
    filters = JobFilters.of(request)
    jobs = services_of(request).jobs
    params = validate("ListTrainingJobs", filters.params())
    listing = await run_in_threadpool(jobs.list, params, caller=acting.caller)
    previous = await run_in_threadpool(jobs.previous_token, params, caller=acting.caller)
    return {
        "filters": filters,
        "jobs": listing["TrainingJobSummaries"],
        "next_token": listing.get("NextToken"),
        "previous_token": previous,
        "statuses": STATUSES,
        "rows_url": f"{PREFIX}/jobs/rows?{filters.query()}",
    }


@router.get("/jobs")
async def jobs_page(request: Request, acting: ActingDep) -> Response:
    return page(request, "jobs.html", acting, **await _listing(request, acting))


@router.get("/jobs/rows")
async def jobs_rows(request: Request, acting: ActingDep) -> Response:
    return page(request, "jobs_table.html", acting, **await _listing(request, acting))
