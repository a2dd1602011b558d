"""`/healthz`: the server answers and its database is reachable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import HealthDep
from app.api.rest.responses import JSON

router = APIRouter(tags=["health"], default_response_class=JSON)


@router.get("/healthz", summary="Liveness and database check")
async def healthz(health: HealthDep) -> Any:
    return health.check()
