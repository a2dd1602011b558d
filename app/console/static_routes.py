"""The console's static assets (its CSS and script, htmx, uPlot), served by a route of its own rather than
a mount, so the access log names the operation like any other route's."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, Response

from app.console.routers import router
from app.storage.errors import NoSuchKey

STATIC = Path(__file__).parent / "static"
_ASSETS = {path.name: path for path in STATIC.iterdir() if path.suffix in (".js", ".css")}
_CACHE = "public, max-age=3600"


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    path = _ASSETS.get(name)
    if path is None:
        raise NoSuchKey(f"The console has no asset named {name!r}.")
    return FileResponse(path, headers={"Cache-Control": _CACHE})
