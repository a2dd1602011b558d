"""The administration routes (`/v1/admin/...`) as client methods; they need an admin key to sign with.

Timestamps come back as aware datetimes (`CreateDate`, an event's `time`), as the other methods return.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from app.client import rest, wire
from app.client.transport import Request, Transport

JSON_HEADERS = {"Content-Type": "application/json"}


class AdminMethods:
    """Mixed into `SageMakerClient`: accounts, access keys and the audit trail."""

    _transport: Transport

    def create_account(self, name: str) -> dict[str, Any]:
        """`{"AccountId", "Name", "AccessKeyId", "SecretAccessKey"}`: the account and its first key."""
        return self._admin_post("CreateAccount", "/v1/admin/accounts", {"name": name})

    def list_accounts(
        self, *, max_results: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        """`{"Accounts": [{"AccountId", "Name", "CreateDate"}, ...], "NextToken"?}`: a page, oldest first."""
        query = rest.page_query(max_results=max_results, next_token=next_token)
        document = rest.get_json(self._transport, "ListAccounts", "/v1/admin/accounts", query=query)
        return _with_dates(document, "Accounts", "CreateDate")

    def create_access_key(self, account_id: str, *, admin: bool = False) -> dict[str, Any]:
        """`{"AccessKeyId", "SecretAccessKey", "AccountId"}`: a new key; the secret is shown only now."""
        path = f"/v1/admin/accounts/{wire.segment(account_id)}/keys"
        return self._admin_post("CreateAccessKey", path, {"admin": admin})

    def list_access_keys(
        self, account_id: str | None = None, *, max_results: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        """`{"AccessKeyMetadata": [{"AccessKeyId", "AccountId", "Status", "Admin", "CreateDate"}],
        "NextToken"?}`: a page of one account's keys or of all; never a secret."""
        query = rest.page_query(max_results=max_results, next_token=next_token)
        path = (
            "/v1/admin/keys" if account_id is None else f"/v1/admin/accounts/{wire.segment(account_id)}/keys"
        )
        document = rest.get_json(self._transport, "ListAccessKeys", path, query=query)
        return _with_dates(document, "AccessKeyMetadata", "CreateDate")

    def revoke_access_key(self, access_key_id: str) -> None:
        """Revoke the key; the server refuses it within a second."""
        path = f"/v1/admin/keys/{wire.segment(access_key_id)}"
        reply = self._transport.send(Request("RevokeAccessKey", "DELETE", path, idempotent=True))
        rest.raise_for_status(reply, "RevokeAccessKey")

    def list_audit_events(
        self, *, account_id: str | None = None, since: dt.datetime | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """`{"events": [{"time", "account_id", "access_key_id", "source_ip", "operation", "resource",
        "outcome", "request_id", "count"}, ...]}`, newest first."""
        query: list[tuple[str, str]] = []
        if account_id is not None:
            query.append(("account", account_id))
        if since is not None:
            query.append(("since", since.isoformat()))
        if limit is not None:
            query.append(("limit", str(limit)))
        document = rest.get_json(self._transport, "ListAuditEvents", "/v1/admin/audit", query=query)
        return _with_dates(document, "events", "time")

    def _admin_post(self, operation: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = Request(operation, "POST", path, headers=JSON_HEADERS, body=json.dumps(body).encode())
        return rest.json_of(self._transport.send(request), operation)


def _with_dates(document: dict[str, Any], member: str, field: str) -> dict[str, Any]:
    items: Sequence[dict[str, Any]] = document.get(member, [])
    for item in items:
        item[field] = wire.parse_iso(item[field])
    return document
