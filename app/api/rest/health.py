"""`/healthz`: the server answers and its database is reachable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from app.api.rest.responses import JSON

router = APIRouter(tags=["health"], default_response_class=JSON)


@router.get("/healthz", summary="Liveness and database check")
async def healthz(request: Request) -> Any:
    with request.app.state.services.sessions() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}
