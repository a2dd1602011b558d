"""Who is acting in a console request: the session its cookie names, checked for CSRF on every non-GET.

The cookie is read here and nowhere else in the server: the edge sends `/console` requests past SigV4
to these routes (`app.api.edge.surfaces`), and every other surface ignores cookies. A form carries the
session's CSRF token as `csrf_token`; an htmx action or a `fetch` in the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request

from app.auth.caller import Caller
from app.console.sessions import ActiveSession, ConsoleSessions
from app.errors import AccessDenied, ServiceError, ValidationError
from app.services import Services

COOKIE = "sagelite_console"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_FORM_TYPE = "application/x-www-form-urlencoded"


class SignInRequired(Exception):
    """No live session: pages redirect to the sign-in form, actions answer 401."""


class CsrfRefused(ServiceError):
    """A state-changing console request without its session's CSRF token."""

    code = "InvalidCsrfToken"
    http_status = 403


@dataclass(frozen=True)
class Acting:
    """A verified console request: the session, its caller, and the form it posted (empty for GETs)."""

    session: ActiveSession
    form: dict[str, str] = field(default_factory=dict)

    @property
    def caller(self) -> Caller:
        return self.session.caller


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def sessions_of(request: Request) -> ConsoleSessions:
    return services_of(request).console_sessions


async def _acting(request: Request) -> Acting:
    token = request.cookies.get(COOKIE)
    session = None if not token else sessions_of(request).resolve(token)
    if session is None:
        raise SignInRequired()
    request.state.console_caller = session.caller  # for the audit trail (`rendering.ConsoleRoute`)
    if request.method in _SAFE_METHODS:
        return Acting(session)
    form = await read_form(request) if _is_form(request) else {}
    claimed = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD, "")
    if not hmac.compare_digest(claimed.encode(), session.csrf_token.encode()):
        raise CsrfRefused("This form or action lacks the session's CSRF token; reload the page.")
    return Acting(session, form)


async def _admin(acting: Annotated[Acting, Depends(_acting)]) -> Acting:
    if not acting.caller.is_admin:
        raise AccessDenied("This page is for administrators.")
    return acting


ActingDep = Annotated[Acting, Depends(_acting)]
AdminActingDep = Annotated[Acting, Depends(_admin)]


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == _FORM_TYPE


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form, refused past the server's request size limit (the last value of a repeated name)."""
    limit = services_of(request).settings.max_request_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ValidationError(f"The form is larger than {limit} bytes.")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
