"""`/v1/admin/...`: accounts, access keys and the audit trail, for callers holding an admin key.

Shapes that mirror AWS (IAM's access keys) use its PascalCase names; the audit, sagelite's own operator
view, uses snake_case.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.deps import AdminDep, AuditDep, IdentitiesDep
from app.api.rest import paging
from app.api.rest.documentation import EPOCH_OR_ISO_8601, errors, parameter_schemas, query_time
from app.api.rest.paging import PageDep
from app.api.rest.responses import JSON
from app.audit.log import MAX_LIMIT
from app.auth.identities import ACCOUNT_NAME, AccessKeyInfo, AccountInfo, NewAccessKey
from app.wire.pages import Page

router = APIRouter(tags=["administration"], default_response_class=JSON)

AccountId = Annotated[str, Path(pattern=r"^\d{12}$", description="12 digits")]


class CreateAccount(BaseModel):
    name: str = Field(description="1 to 64 letters, digits and +=,.@_-", pattern=f"^{ACCOUNT_NAME.pattern}$")


class CreateAccessKey(BaseModel):
    admin: bool = Field(default=False, description="an operator key (the administration API)")


@router.post(
    "/v1/admin/accounts",
    status_code=201,
    summary="Create an account and its first access key",
    responses=errors(409),
)
async def create_account(body: CreateAccount, identities: IdentitiesDep, _: AdminDep) -> Any:
    account, key = await run_in_threadpool(identities.create_account, body.name)
    return {"AccountId": account.account_id, "Name": account.name, **_new_key(key)}


@router.get("/v1/admin/accounts", summary="Every account, oldest first")
async def list_accounts(identities: IdentitiesDep, _: AdminDep, page: PageDep) -> Any:
    found = await run_in_threadpool(identities.list_accounts, page)
    return paging.listing("Accounts", found, [_account(a) for a in found.items])


@router.post(
    "/v1/admin/accounts/{account_id}/keys",
    status_code=201,
    summary="Create an access key of the account",
    responses=errors(404),
)
async def create_access_key(
    account_id: AccountId, identities: IdentitiesDep, _: AdminDep, body: CreateAccessKey | None = None
) -> Any:
    admin = body is not None and body.admin
    key = await run_in_threadpool(identities.create_access_key, account_id, admin=admin)
    return {**_new_key(key), "AccountId": key.key.account_id}


@router.get(
    "/v1/admin/accounts/{account_id}/keys",
    summary="The account's access keys, without secrets",
    responses=errors(404),
)
async def list_account_keys(
    account_id: AccountId, identities: IdentitiesDep, _: AdminDep, page: PageDep
) -> Any:
    return _keys(await run_in_threadpool(lambda: identities.list_access_keys(account_id, page=page)))


@router.get(
    "/v1/admin/keys",
    summary="Access keys of every account (or `?account=ID`), without secrets",
    responses=errors(404),
)
async def list_keys(
    identities: IdentitiesDep,
    _: AdminDep,
    page: PageDep,
    account: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
) -> Any:
    return _keys(await run_in_threadpool(lambda: identities.list_access_keys(account, page=page)))


@router.delete(
    "/v1/admin/keys/{access_key_id}",
    status_code=204,
    summary="Revoke an access key (within a second)",
    responses=errors(404),
)
async def revoke_key(access_key_id: str, identities: IdentitiesDep, _: AdminDep) -> Response:
    await run_in_threadpool(identities.revoke, access_key_id)
    return Response(status_code=204)


@router.get(
    "/v1/admin/audit",
    summary="Audit events, newest first",
    openapi_extra=parameter_schemas(since=EPOCH_OR_ISO_8601),
)
async def audit_events(
    audit: AuditDep,
    _: AdminDep,
    account: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    since: Annotated[str | None, Query(description="Epoch seconds or ISO 8601 (UTC when no offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Any:
    after = None if since is None else query_time(since, name="since")
    events = await run_in_threadpool(audit.events, account_id=account, since=after, limit=limit)
    return {"events": [asdict(event) for event in events]}


def _account(account: AccountInfo) -> dict[str, Any]:
    return {"AccountId": account.account_id, "Name": account.name, "CreateDate": account.created_at}


def _new_key(new: NewAccessKey) -> dict[str, Any]:
    return {"AccessKeyId": new.key.access_key_id, "SecretAccessKey": new.secret_access_key}


def _keys(found: Page[AccessKeyInfo]) -> dict[str, Any]:
    return paging.listing(
        "AccessKeyMetadata",
        found,
        [
            {
                "AccessKeyId": key.access_key_id,
                "AccountId": key.account_id,
                "Status": "Active" if key.revoked_at is None else "Inactive",
                "Admin": key.is_admin,
                "CreateDate": key.created_at,
            }
            for key in found.items
        ],
    )
