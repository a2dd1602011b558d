"""Administration, for admin keys only: the accounts, and the newest audit events."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.console.guard import AdminActingDep, services_of
from app.console.rendering import page
from app.console.routers import router
from app.wire.pages import PageRequest

_SHOWN = 100


@router.get("/admin")
async def admin_page(request: Request, acting: AdminActingDep) -> Response:
    services = services_of(request)
    accounts = await run_in_threadpool(services.identities.list_accounts, PageRequest(max_results=_SHOWN))
    events = await run_in_threadpool(lambda: services.audit.events(limit=_SHOWN))
    return page(request, "admin.html", acting, accounts=accounts.items, events=events)
