"""Queries over console sessions, looked up by the SHA-256 of their token."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.models import ConsoleSession


def add(session: Session, row: ConsoleSession) -> None:
    session.add(row)


def live(session: Session, *, token_sha256: str, now: dt.datetime) -> ConsoleSession | None:
    """The session with this token hash, unless it has expired."""
    statement = select(ConsoleSession).where(
        ConsoleSession.token_sha256 == token_sha256, ConsoleSession.expires_at > now
    )
    return session.scalars(statement).first()


def remove(session: Session, *, token_sha256: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_sha256 == token_sha256))


def purge_expired(session: Session, *, now: dt.datetime) -> int:
    result = session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]
