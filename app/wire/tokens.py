"""Opaque pagination tokens: a keyset cursor plus a fingerprint of the filters it was issued for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from app.errors import ValidationError


def fingerprint(filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(cursor: list[Any], filters: dict[str, Any]) -> str:
    payload = json.dumps({"c": cursor, "f": fingerprint(filters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(token: str, filters: dict[str, Any], *, kinds: tuple[type, ...]) -> list[Any]:
    """The cursor inside `token`, one item of each of `kinds`.

    Refuses tokens that are corrupt, hold another cursor shape, or were issued for other filters.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        cursor, issued_for = payload["c"], payload["f"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise ValidationError("Invalid pagination token") from error
    if issued_for != fingerprint(filters) or not isinstance(cursor, list):
        raise ValidationError("The pagination token does not match the request's filters")
    if len(cursor) != len(kinds) or not all(map(_is_kind, cursor, kinds)):
        raise ValidationError("Invalid pagination token")
    return cursor


def _is_kind(item: Any, kind: type) -> bool:
    if kind is int:  # a row id: what SQLite can bind, never a bool
        return type(item) is int and -(2**63) <= item < 2**63
    return isinstance(item, kind)
