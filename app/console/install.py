"""Mount the console on the application: its routes under `/console`, static assets included."""

from __future__ import annotations

from fastapi import FastAPI

# Importing the route modules registers their routes (no two paths overlap, so their order is free).
from app.console import (  # noqa: F401
    admin_routes,
    clone_routes,
    compare_routes,
    hosts_routes,
    job_actions,
    job_data_routes,
    job_routes,
    jobs_routes,
    objects_routes,
    signin_routes,
    static_routes,
    tuning_routes,
)
from app.console.routers import router


def install(app: FastAPI) -> None:
    app.include_router(router)
