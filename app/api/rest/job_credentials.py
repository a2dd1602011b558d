"""The container credentials endpoint a running job's VMs read their session credentials from.

Authenticated by the bearer token the VM was started with (`AWS_CONTAINER_AUTHORIZATION_TOKEN`, sent by
botocore as the `Authorization` header), not by SigV4: the job has no credentials before it asks here.
The answer has the shape botocore's `ContainerProvider` parses.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header

from app.api.deps import JobCredentialsDep
from app.api.rest.documentation import errors
from app.api.rest.responses import JSON, problem
from app.auth import job_credentials

router = APIRouter(tags=["jobs"], default_response_class=JSON)


@router.get(
    job_credentials.PATH,
    summary="A running job's session credentials (for its VMs)",
    responses=errors(401, 403),
)
async def job_credentials_for_token(
    broker: JobCredentialsDep, authorization: str | None = Header(default=None)
) -> Any:
    if not authorization:
        return problem(401, "MissingAuthenticationToken", "A job credentials token is required.")
    credentials = broker.credentials(authorization)
    if credentials is None:
        return problem(403, "AccessDenied", "The job credentials token is not valid.")
    body = {
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "Token": credentials.session_token,
        "Expiration": credentials.expiration,
    }
    return JSON(body, headers={"Cache-Control": "no-store"})
