"""The scheduler lease row and the PostgreSQL advisory lock that decides who may raise its epoch.

The lock is a session-level advisory lock: it lives exactly as long as the database session that took it,
so a replica that dies (its socket closed by the kernel) or hangs past `idle_session_timeout` (the server
ends a session that sends nothing) frees it, and the next replica to ask gets it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.db.models import SchedulerLease

LEASE = "scheduler"
# pg_advisory_lock's key space is shared by every application of the database: a constant of our own.
ADVISORY_KEY = 0x5A6E_117E_5C4E_D001 - (1 << 63)


@dataclass(frozen=True, slots=True)
class Election:
    """This replica's term: its epoch, and where the previous holder ran (None on a fresh database)."""

    epoch: int
    previous_machine: str | None


def lock_engine(url: str) -> Engine:
    """Connections of their own for the lock: a pooled one could be handed to a request meanwhile."""
    return create_engine(url, poolclass=NullPool)


def try_advisory_lock(connection: Connection) -> bool:
    return bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar())


def hold_session(connection: Connection, *, idle_timeout_ms: int) -> None:
    """Make the server end the lock's session if its holder goes quiet (hung), or its host vanishes."""
    connection.execute(text(f"SET idle_session_timeout = {int(idle_timeout_ms)}"))
    for setting, value in (("tcp_keepalives_idle", 2), ("tcp_keepalives_interval", 1)):
        connection.execute(text(f"SET {setting} = {value}"))
    connection.commit()


def heartbeat(connection: Connection) -> None:
    connection.execute(text("SELECT 1"))
    connection.commit()


def elect(session: Session, *, holder: str, machine: str, now: dt.datetime) -> Election:
    """Raise the epoch and record the new holder; only a replica holding the advisory lock calls this."""
    row = session.execute(
        select(SchedulerLease).where(SchedulerLease.name == LEASE).with_for_update()
    ).scalar_one()
    previous = row.machine
    row.epoch, row.holder, row.machine, row.acquired_at = row.epoch + 1, holder, machine, now
    session.flush()
    return Election(epoch=row.epoch, previous_machine=previous)


def holds_epoch(session: Session, epoch: int) -> bool:
    """Whether `epoch` is still the current one, read under a share lock: an election that raises it waits
    for this transaction to end, and one that already has is seen, so no write lands across a takeover."""
    current = session.scalar(
        select(SchedulerLease.epoch).where(SchedulerLease.name == LEASE).with_for_update(read=True)
    )
    return current == epoch
