"""Compare: several of the caller's jobs' metrics overlaid, one chart per metric name, by step or by time
since each job started. The page names the jobs; the browser fetches each job's `metrics.json`."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from app.console.guard import ActingDep
from app.console.rendering import page
from app.console.routers import router
from app.wire.validate import validate

MAX_COMPARED = 10


@router.get("/compare")
async def compare_page(request: Request, acting: ActingDep) -> Response:
    names = [n for n in request.query_params.getlist("job") if n][:MAX_COMPARED]
    for name in names:
        validate("DescribeTrainingJob", {"TrainingJobName": name})
    return page(request, "compare.html", acting, jobs=names, max_compared=MAX_COMPARED)
