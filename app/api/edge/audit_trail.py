"""What the audit log is told about a request: mutating calls once answered, refusals as they happen.

A call is mutating when it can change something: the AWS JSON operations outside their service's
`read_only`, and any
S3 or REST method but GET and HEAD. Its outcome is `Success` or the error code (the JSON protocol's
`x-amzn-ErrorType`, or `HTTP <status>` on the other surfaces, whose codes sit in the body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response
from starlette.types import Message, Scope

from app.api.aws import registry
from app.api.edge.surfaces import Surface
from app.audit.log import AuditLog
from app.auth.caller import Caller

_S3_CODE = re.compile(rb"<Code>([^<]{1,64})</Code>")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]{1,128})/")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Call:
    operation: str
    resource: str | None
    source_ip: str | None
    mutating: bool


def describe(scope: Scope, surface: Surface) -> Call:
    client = scope.get("client")
    source_ip = client[0] if client else None
    method, path = scope["method"], scope["path"]
    if surface is Surface.AWS_JSON:
        target = _header(scope, b"x-amz-target") or ""
        operation = target.partition(".")[2] or "Unknown"
        return Call(operation, None, source_ip, not registry.is_read_only(target))
    return Call(f"{method} {path}", path, source_ip, method not in _READS)


def claimed_key(scope: Scope) -> str | None:
    """The access key id a refused request names (unverified: only to count its refusals by)."""
    authorization = _header(scope, b"authorization")
    if authorization is not None:
        found = _CREDENTIAL.search(authorization)
        return found.group(1) if found else None
    query = scope.get("query_string", b"").decode("latin-1")
    if "X-Amz-Credential" not in query:
        return None
    credential = dict(parse_qsl(query)).get("X-Amz-Credential", "")
    return credential.partition("/")[0] or None


class Outcome:
    """What the app answered, seen on its way out."""

    def __init__(self) -> None:
        self.status = 0
        self.error_type: str | None = None
        self.request_id: str | None = None

    def see(self, message: Message) -> None:
        if message["type"] != "http.response.start":
            return
        self.status = message["status"]
        for name, value in message.get("headers", []):
            lowered = bytes(name).lower()
            if lowered == b"x-amzn-errortype":
                self.error_type = bytes(value).decode("latin-1")
            elif lowered in (b"x-amzn-requestid", b"x-amz-request-id"):
                self.request_id = bytes(value).decode("latin-1")

    @property
    def text(self) -> str:
        if 0 < self.status < 400:
            return "Success"
        return self.error_type or f"HTTP {self.status or 500}"


def record(audit: AuditLog, call: Call, caller: Caller, outcome: Outcome) -> None:
    """One event for a mutating call (a database write: run it on a worker thread)."""
    audit.record(
        caller=caller,
        operation=call.operation,
        outcome=outcome.text,
        resource=call.resource,
        source_ip=call.source_ip,
        request_id=outcome.request_id,
    )


def refused(
    audit: AuditLog, call: Call, response: Response, *, key_id: str | None, caller: Caller | None = None
) -> None:
    """Count a refusal (no I/O: the log aggregates them per key or address and minute)."""
    audit.refused(
        operation=call.operation,
        outcome=_code(response),
        source_ip=call.source_ip,
        access_key_id=key_id,
        account_id=caller.account_id if caller else None,
        resource=call.resource,
        request_id=response.headers.get("x-amzn-requestid") or response.headers.get("x-amz-request-id"),
    )


def _code(response: Response) -> str:
    error_type = response.headers.get("x-amzn-errortype")
    if error_type:
        return error_type
    body = bytes(response.body)
    found = _S3_CODE.search(body)
    if found:
        return found.group(1).decode("latin-1")
    try:
        return str(orjson.loads(body).get("code")) if body else f"HTTP {response.status_code}"
    except orjson.JSONDecodeError:
        return f"HTTP {response.status_code}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
