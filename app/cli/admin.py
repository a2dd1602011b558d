"""`sagelite admin accounts create|list`, `sagelite admin keys create|list|revoke`, `sagelite admin audit`.

Every command needs an admin key in the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from app.cli import common, output
from app.cli.common import Context
from app.client import rest


def add_parser(commands: Any) -> None:
    admin = commands.add_parser("admin", help="accounts, access keys and the audit trail (admin key)")
    sub = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    accounts = sub.add_parser("accounts", help="create and list accounts")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True, metavar="COMMAND")
    create = common.leaf(accounts_sub, "create", create_account, help="an account and its first key")
    create.add_argument("name", metavar="NAME")
    common.leaf(accounts_sub, "list", list_accounts, help="every account")
    keys = sub.add_parser("keys", help="create, list and revoke access keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create_key = common.leaf(keys_sub, "create", create_access_key, help="a new key of an account")
    create_key.add_argument("--account", required=True, metavar="ID", help="the account's 12-digit id")
    create_key.add_argument("--admin", action="store_true", help="an operator key")
    listing = common.leaf(keys_sub, "list", list_access_keys, help="keys, without their secrets")
    listing.add_argument("--account", metavar="ID", help="only this account's keys")
    revoke = common.leaf(keys_sub, "revoke", revoke_access_key, help="revoke a key (within a second)")
    revoke.add_argument("access_key_id", metavar="KEY_ID")
    audit = common.leaf(sub, "audit", audit_events, help="audit events, newest first")
    audit.add_argument("--account", metavar="ID", help="only this account's events")
    audit.add_argument("--since", type=_timestamp, metavar="TIME", help="ISO 8601 (UTC without an offset)")
    audit.add_argument("--limit", type=int, metavar="N", help="at most N events (default 100)")


def create_account(args: argparse.Namespace, ctx: Context) -> int:
    created = ctx.client.create_account(args.name)
    return _secret_once(created, ctx, ("AccountId", "Name", "AccessKeyId", "SecretAccessKey"))


def list_accounts(args: argparse.Namespace, ctx: Context) -> int:
    accounts = rest.every_page(ctx.client.list_accounts, "Accounts")
    if ctx.json:
        output.emit_json(accounts)
        return common.OK
    rows = [[a["AccountId"], a["Name"], a["CreateDate"]] for a in accounts["Accounts"]]
    output.table(["ACCOUNT", "NAME", "CREATED"], rows)
    return common.OK


def create_access_key(args: argparse.Namespace, ctx: Context) -> int:
    created = ctx.client.create_access_key(args.account, admin=args.admin)
    return _secret_once(created, ctx, ("AccountId", "AccessKeyId", "SecretAccessKey"))


def list_access_keys(args: argparse.Namespace, ctx: Context) -> int:
    keys = rest.every_page(ctx.client.list_access_keys, "AccessKeyMetadata", account_id=args.account)
    if ctx.json:
        output.emit_json(keys)
        return common.OK
    columns = ("AccessKeyId", "AccountId", "Status", "Admin", "CreateDate")
    rows = [[key[c] for c in columns] for key in keys["AccessKeyMetadata"]]
    output.table(["ACCESS KEY", "ACCOUNT", "STATUS", "ADMIN", "CREATED"], rows)
    return common.OK


def revoke_access_key(args: argparse.Namespace, ctx: Context) -> int:
    ctx.client.revoke_access_key(args.access_key_id)
    if ctx.json:
        output.emit_json({"AccessKeyId": args.access_key_id, "Status": "Inactive"})
    else:
        print(f"{args.access_key_id}: revoked")
    return common.OK


def audit_events(args: argparse.Namespace, ctx: Context) -> int:
    events = ctx.client.list_audit_events(account_id=args.account, since=args.since, limit=args.limit)
    if ctx.json:
        output.emit_json(events)
        return common.OK
    columns = ("time", "account_id", "access_key_id", "source_ip", "operation", "resource", "outcome")
    rows = [[event[c] for c in columns] + [event["count"]] for event in events["events"]]
    headers = ["TIME", "ACCOUNT", "ACCESS KEY", "SOURCE", "OPERATION", "RESOURCE", "OUTCOME", "COUNT"]
    output.table(headers, rows)
    return common.OK


def _secret_once(created: dict[str, Any], ctx: Context, fields: tuple[str, ...]) -> int:
    if ctx.json:
        output.emit_json(created)
        return common.OK
    output.fields({name: created[name] for name in fields})
    print("The secret access key is shown only now: store it safely.", file=sys.stderr)
    return common.OK


def _timestamp(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
