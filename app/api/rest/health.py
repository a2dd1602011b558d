"""`/healthz`: open to anybody for liveness; the checks' details only for admins.

Load balancers and orchestrators probe without credentials: they get `{"status": "ok"}` (200) or
`{"status": "unhealthy"}` (503) and nothing about the machine. A request signed with an admin key also
gets every check (database, scheduler loop, executor, free disk) with what it saw.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.api.deps import HealthDep
from app.api.rest.responses import JSON
from app.auth.caller import Caller

router = APIRouter(tags=["health"], default_response_class=JSON)


@router.get(
    "/healthz",
    summary="Liveness: 200 when the database, scheduler, executor and disk are healthy, 503 otherwise",
    responses={503: {"description": "A check is unhealthy"}},
)
async def healthz(request: Request, health: HealthDep) -> Any:
    report = await run_in_threadpool(health.report)
    body: dict[str, Any] = {"status": report.status}
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is not None and caller.is_admin:
        body["checks"] = {
            name: {"status": "ok" if check.healthy else "unhealthy", **check.details}
            for name, check in report.checks.items()
        }
    return JSON(body, status_code=200 if report.healthy else 503, headers={"Cache-Control": "no-store"})
