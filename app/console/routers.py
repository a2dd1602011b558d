"""The console's one router: every route renders refusals for a browser (`ConsoleRoute`)."""

from __future__ import annotations

from fastapi import APIRouter

from app.console.rendering import PREFIX, ConsoleRoute

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
