"""Templates and the console's error handling: a refusal is a page (or, for htmx, a fragment) saying
what went wrong with its status, never problem JSON and never a 500; no session means the sign-in page."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from markupsafe import escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from app.console.guard import CSRF_FIELD, Acting, SignInRequired, services_of
from app.errors import ServiceError

logger = logging.getLogger(__name__)

PREFIX = "/console"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _when(value: Any) -> str:
    """Times as the pages show them: UTC, to the second (epoch seconds or datetimes)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


templates.env.filters["when"] = _when
templates.env.globals["csrf_field"] = CSRF_FIELD


def page(
    request: Request, name: str, acting: Acting | None, status_code: int = 200, **context: Any
) -> Response:
    """Render `name` with the signed-in caller and the CSRF token every form and htmx action carries."""
    context |= {
        "caller": None if acting is None else acting.caller,
        "csrf_token": None if acting is None else acting.session.csrf_token,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


class ConsoleRoute(APIRoute):
    """Routes whose refusals are rendered for a browser."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            outcome = "Success"
            try:
                return await handler(request)
            except SignInRequired:
                return _to_sign_in(request)
            except ServiceError as error:
                outcome = error.code
                status = error.rest_status if error.rest_status < 500 else 500
                if status >= 500:
                    logger.exception("console request failed", extra={"path": request.url.path})
                return _refusal(request, status, error.message)
            finally:
                await _audit(request, self.path, outcome)

        return guarded


async def _audit(request: Request, template: str, outcome: str) -> None:
    """Changes made through the console join the audit trail, as the edge records the APIs' changes."""
    caller = getattr(request.state, "console_caller", None)
    if request.method in ("GET", "HEAD") or caller is None:
        return
    await run_in_threadpool(
        services_of(request).audit.record,
        caller=caller,
        operation=f"console {request.method} {template}",
        outcome=outcome,
        resource=request.url.path,
        source_ip=None if request.client is None else request.client.host,
    )


def _to_sign_in(request: Request) -> Response:
    if request.method not in ("GET", "HEAD"):
        return _refusal(request, 401, "Your session has ended; sign in again.")
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": f"{PREFIX}/sign-in"})
    return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)


def _refusal(request: Request, status: int, message: str) -> Response:
    if is_htmx(request):
        return HTMLResponse(f'<p class="error" role="alert">{escape(message)}</p>', status_code=status)
    return templates.TemplateResponse(
        request, "error.html", {"message": message, "caller": None, "csrf_token": None}, status_code=status
    )
