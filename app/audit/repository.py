"""Queries over audit events: inserts, the newest-first read, and the retention purge. Nothing updates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.audit.entries import AuditEntry
from app.db.models import AuditEvent


def append(session: Session, entries: Iterable[AuditEntry]) -> None:
    """Insert the events in one statement (an executemany for several)."""
    session.execute(insert(AuditEvent), [asdict(entry) for entry in entries])


def newest(
    session: Session, *, account_id: str | None, since: dt.datetime | None, limit: int
) -> list[AuditEntry]:
    """Events newest first, of one account or all, at or after `since`."""
    statement = select(AuditEvent)
    if account_id is not None:
        statement = statement.where(AuditEvent.account_id == account_id)
    if since is not None:
        statement = statement.where(AuditEvent.time >= since)
    rows = session.scalars(statement.order_by(AuditEvent.time.desc(), AuditEvent.id.desc()).limit(limit))
    return [_entry(row) for row in rows]


def purge_before(session: Session, cutoff: dt.datetime) -> int:
    """Delete the events older than `cutoff` (the retention); returns how many."""
    result = session.execute(delete(AuditEvent).where(AuditEvent.time < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _entry(row: AuditEvent) -> AuditEntry:
    return AuditEntry(
        time=row.time,
        operation=row.operation,
        outcome=row.outcome,
        account_id=row.account_id,
        access_key_id=row.access_key_id,
        source_ip=row.source_ip,
        resource=row.resource,
        request_id=row.request_id,
        count=row.count,
    )
