"""Mount the console on the application: its routes under `/console` and its static assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

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
)
from app.console.rendering import PREFIX
from app.console.routers import router

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(router)
