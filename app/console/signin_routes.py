"""Sign-in and sign-out. The session cookie is HttpOnly, SameSite=Strict, scoped to `/console`, and
Secure when the server speaks TLS; sign-out deletes the session in the database, not only the cookie."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from app.console import signin_limits
from app.console.guard import COOKIE, ActingDep, CsrfRefused, read_form, sessions_of
from app.console.rendering import PREFIX, page
from app.console.routers import router


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    return page(request, "sign_in.html", None)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    _same_origin(request)
    form = await read_form(request)
    key, client = form.get("access_key_id", "").strip(), signin_limits.client_of(request)
    limits = signin_limits.limits_of(request)
    decision = limits.check(client=client, access_key_id=key)
    if not decision.allowed:
        wait = decision.retry_after_header
        response = page(request, "sign_in.html", None, status_code=429, retry_after=wait)
        response.headers["Retry-After"] = wait
        return response
    signed_in = await run_in_threadpool(
        lambda: sessions_of(request).sign_in(
            access_key_id=key, secret_access_key=form.get("secret_access_key", "")
        )
    )
    if signed_in is None:
        limits.failed(client=client, access_key_id=key)
        return page(request, "sign_in.html", None, status_code=401, refused=True)
    request.state.console_caller = signed_in.caller  # the sign-in joins the audit trail
    response = RedirectResponse(f"{PREFIX}/jobs", status_code=303)
    lifetime = sessions_of(request).ttl.total_seconds()
    response.set_cookie(
        COOKIE,
        signed_in.token,
        max_age=int(lifetime),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request, acting: ActingDep) -> Response:
    await run_in_threadpool(sessions_of(request).sign_out, acting.session)
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


@router.get("")
@router.get("/")
async def home() -> Response:
    return RedirectResponse(f"{PREFIX}/jobs", status_code=303)


def _same_origin(request: Request) -> None:
    """Another site's page may not sign a browser in (login CSRF): a cross-origin form post is refused."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise CsrfRefused("Sign in from the console's own page.")
