"""`/healthz`: the server answers and its database is reachable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.api.rest.responses import JSON
from app.services import Services

router = APIRouter(tags=["health"], default_response_class=JSON)


@router.get("/healthz", summary="Liveness and database check")
async def healthz(request: Request) -> Any:
    services: Services = request.app.state.services
    return services.health.check()
