"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout on every connection.

Write transactions on one SQLite file also take a process-wide lock (`WriteLock`), from the statement
that opens the transaction to the commit or rollback that ends it. SQLite lets one writer in at a time;
one that finds the write lock taken sleeps in its busy handler, in steps that grow to 100 ms, however
soon the lock comes free. Threads waiting on a Python lock are woken as soon as it is released, so under
concurrent writes the queue forms here instead. Reads take no lock and stay concurrent (WAL).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 5000
# The statements on which the sqlite3 driver opens a write transaction (it issues BEGIN before them).
_WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriteLock:
    """Lets one write transaction at a time into a database from this process; re-entrant per thread.

    Re-entrant because a thread that opens a second connection inside its own write transaction must
    not wait on itself: its second writer goes on to SQLite, whose busy timeout decides, as without the
    lock. Released by count, not by owner: a connection ends its transaction on the thread it began on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, *, timeout: float) -> bool:
        me = threading.get_ident()
        if self._owner == me:  # only this thread ever sets the owner to itself
            self._depth += 1
            return True
        if not self._lock.acquire(timeout=timeout):
            return False
        self._owner, self._depth = me, 1
        return True

    def locked(self) -> bool:
        return self._lock.locked()

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


_locks: dict[Path, WriteLock] = {}
_locks_guard = threading.Lock()


def write_lock_for(database: Path) -> WriteLock:
    """The one lock of the database file at `database`, shared by every engine of this process."""
    with _locks_guard:
        return _locks.setdefault(database.resolve(), WriteLock())


class _Connection(sqlite3.Connection):
    """A connection that holds its database's write lock for the length of each write transaction."""

    write_lock: WriteLock | None = None
    _holding = False

    def before_statement(self, statement: str) -> None:
        if self.write_lock is None or self._holding or self.in_transaction:
            return
        if statement.lstrip()[:7].upper().startswith(_WRITE_STATEMENTS):
            # After the timeout, go on without the lock: SQLite's busy handler is the backstop it was.
            self._holding = self.write_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release(still_open=self.in_transaction)

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release(still_open=self.in_transaction)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release(still_open=False)

    def _release(self, *, still_open: bool) -> None:
        # A commit that failed leaves the transaction open; the rollback that follows releases.
        if self._holding and not still_open and self.write_lock is not None:
            self._holding = False
            self.write_lock.release()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # WAL + NORMAL is durable across process crashes; only an OS crash may lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _before_cursor_execute(
    _conn: Any, cursor: Any, statement: str, _parameters: Any, _context: Any, _executemany: bool
) -> None:
    cursor.connection.before_statement(statement)


def make_engine(url: str) -> Engine:
    """Create the engine; for SQLite, make sure the file's folder exists and set the pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    lock = None
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created private before SQLite opens it; SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(parsed.database, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        lock = write_lock_for(Path(parsed.database))
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "factory": _Connection},
        # Jobs carry their whole request as JSON: orjson decodes it several times faster than json.
        json_deserializer=orjson.loads,
        json_serializer=lambda value: orjson.dumps(value).decode(),
    )

    def on_connect(dbapi_connection: _Connection, record: Any) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        dbapi_connection.write_lock = lock

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "before_cursor_execute", _before_cursor_execute)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping(sessions: sessionmaker[Session]) -> None:
    """One round trip to the database; raises if it cannot be reached."""
    with sessions() as session:
        session.execute(text("SELECT 1"))
