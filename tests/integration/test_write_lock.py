"""The process-wide write lock: concurrent writers queue on it instead of in SQLite, reads never wait for
it, and a thread that opens a second session inside its own transaction is never stuck on it.

SQLite's busy timeout is set to 0 here, so a writer that met another one inside SQLite would fail at
once with "database is locked": every test that passes shows the writers met on the lock instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.db.session import WriteLock, make_engine, make_session_factory, write_lock_for

WAIT = 30.0  # bound on waiting for a thread that should get through; never reached when all is well
WRITERS = 8
TRANSACTIONS = 25


def no_busy_wait(engine: Engine) -> Engine:
    """Make SQLite refuse at once a writer that finds its write lock taken (runs after the pragmas)."""
    event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout=0"))
    return engine


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "lock.db"


@pytest.fixture
def engines(database: Path) -> Iterator[list[Engine]]:
    """Two engines on one file, as two parts of one process might open: they share the one lock."""
    engines = [no_busy_wait(make_engine(f"sqlite:///{database}")) for _ in range(2)]
    with engines[0].begin() as connection:
        connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, writer INTEGER, n INTEGER)"))
    yield engines
    for engine in engines:
        engine.dispose()


@pytest.fixture
def sessions(engines: list[Engine]) -> sessionmaker[Session]:
    return make_session_factory(engines[0])


@pytest.fixture
def lock(database: Path, engines: list[Engine]) -> Iterator[WriteLock]:
    lock = write_lock_for(database)
    yield lock
    assert not lock.locked(), "a write transaction left the lock held"


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM rows")).scalar_one())


def test_concurrent_writers_on_two_engines_queue_on_the_lock(engines: list[Engine], lock: WriteLock) -> None:
    hold = threading.Event()  # never set: each transaction waits on it briefly, so writers overlap

    def writer(index: int) -> None:
        engine = engines[index % 2]
        for n in range(TRANSACTIONS):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO rows (writer, n) VALUES (:w, :n)"), {"w": index, "n": n})
                hold.wait(0.001)
                connection.execute(text("UPDATE rows SET n = n + 1 WHERE writer = :w"), {"w": index})

    started = [in_thread(lambda index=index: writer(index)) for index in range(WRITERS)]
    for thread, _ in started:
        thread.join(WAIT)
    assert [error for _, errors in started for error in errors] == []
    assert count(engines[1]) == WRITERS * TRANSACTIONS


def test_reads_go_on_while_a_write_transaction_is_open_and_writers_wait_for_it(
    engines: list[Engine], lock: WriteLock
) -> None:
    written, finish = threading.Event(), threading.Event()

    def first_writer() -> None:
        with engines[0].begin() as connection:
            connection.execute(text("INSERT INTO rows (writer, n) VALUES (1, 0)"))
            written.set()
            assert finish.wait(WAIT)

    first, first_errors = in_thread(first_writer)
    assert written.wait(WAIT)
    assert count(engines[1]) == 0  # a read sees the last commit and does not wait for the writer
    assert lock.locked()

    def second_writer() -> None:
        with engines[1].begin() as connection:
            connection.execute(text("INSERT INTO rows (writer, n) VALUES (2, 0)"))

    second, second_errors = in_thread(second_writer)
    second.join(0.2)
    assert second.is_alive(), "the second writer went past the lock while the first held it"
    finish.set()
    first.join(WAIT)
    second.join(WAIT)
    assert first_errors == second_errors == []
    assert count(engines[0]) == 2


def test_another_writer_inside_a_transaction_that_has_only_read(
    sessions: sessionmaker[Session], lock: WriteLock
) -> None:
    """What the job service's race tests do: another writer commits between the read and the write."""
    with sessions.begin() as outer:
        assert outer.execute(text("SELECT count(*) FROM rows")).scalar_one() == 0
        with sessions.begin() as inner:
            inner.execute(text("INSERT INTO rows (writer, n) VALUES (2, 0)"))
        outer.execute(text("INSERT INTO rows (writer, n) VALUES (1, 0)"))
    with sessions() as session:
        assert session.execute(text("SELECT writer FROM rows ORDER BY id")).scalars().all() == [2, 1]


def test_a_read_inside_a_write_transaction_opens_a_second_session_without_waiting(
    sessions: sessionmaker[Session], lock: WriteLock
) -> None:
    with sessions.begin() as outer:
        outer.execute(text("INSERT INTO rows (writer, n) VALUES (1, 0)"))
        with sessions() as inner:  # a second connection, on the same thread, while the lock is held
            assert inner.execute(text("SELECT count(*) FROM rows")).scalar_one() == 0


def test_a_second_writer_inside_a_write_transaction_meets_sqlite_not_the_lock(
    sessions: sessionmaker[Session], engines: list[Engine], lock: WriteLock
) -> None:
    """The lock is re-entrant per thread: the inner writer is refused by SQLite as it would be without
    the lock (at once here, after the busy timeout in the server), instead of waiting on itself."""
    with sessions.begin() as outer:
        outer.execute(text("INSERT INTO rows (writer, n) VALUES (1, 0)"))
        with pytest.raises(OperationalError, match="database is locked"), sessions.begin() as inner:
            inner.execute(text("INSERT INTO rows (writer, n) VALUES (2, 0)"))
        assert lock.locked()  # still the outer transaction's
    assert count(engines[0]) == 1


def test_a_failed_write_releases_the_lock(sessions: sessionmaker[Session], lock: WriteLock) -> None:
    with sessions.begin() as session:
        session.execute(text("INSERT INTO rows (id, writer, n) VALUES (1, 1, 0)"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.execute(text("INSERT INTO rows (id, writer, n) VALUES (1, 2, 0)"))
    assert not lock.locked()
    with pytest.raises(OperationalError), sessions.begin() as session:
        session.execute(text("UPDATE no_such_table SET n = 1"))  # fails before the transaction opens
    assert not lock.locked()
