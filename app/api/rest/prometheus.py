"""`/metrics`: the server's Prometheus metrics, for admins and for scrapers holding the metrics token.

A request signed with an admin key is let in (the edge verified it and set the caller); a non-admin
caller is refused (403). Prometheus itself cannot sign SigV4, so a scraper sends
`Authorization: Bearer <SAGELITE_METRICS_TOKEN>` instead; without a configured token only admins may read.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Header, Request
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.deps import SettingsDep, TelemetryDep
from app.api.rest.responses import problem
from app.auth.caller import Caller
from app.telemetry import metrics

router = APIRouter(tags=["operations"])

BEARER = "bearer "


@router.get(
    "/metrics",
    summary="Prometheus metrics (admins, or `Authorization: Bearer` with the metrics token)",
    response_class=Response,
    responses={
        200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus text format"},
        401: {"description": "No credentials, or a wrong token"},
        403: {"description": "The caller's key is not an admin key"},
    },
)
async def prometheus_metrics(
    request: Request,
    settings: SettingsDep,
    telemetry: TelemetryDep,
    authorization: str | None = Header(default=None),
) -> Response:
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is not None and not caller.is_admin:
        return problem(403, "AccessDeniedException", "Metrics are for admin keys and the metrics token.")
    if caller is None and not _token_matches(authorization, settings.metrics_token):
        refused = problem(
            401, "MissingAuthenticationToken", "An admin signature or the metrics token is required."
        )
        refused.headers["WWW-Authenticate"] = 'Bearer realm="sagelite metrics"'
        return refused
    body = await run_in_threadpool(telemetry.exposition)
    return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _token_matches(authorization: str | None, token: SecretStr | None) -> bool:
    if authorization is None or token is None or not authorization.lower().startswith(BEARER):
        return False
    given = authorization[len(BEARER) :].strip().encode()
    return hmac.compare_digest(given, token.get_secret_value().encode())
