"""The audit log on a real database: events appended, refusals aggregated into a few writes, retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.audit import repository
from app.audit.log import AuditLog
from app.auth.caller import Caller
from app.clock import FakeClock
from app.errors import ValidationError
from tests.support.polling import wait_until

START = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
ALICE = Caller(account_id="111111111111", access_key_id="AKIAALICE")
BOB = Caller(account_id="222222222222", access_key_id="AKIABOB")


class Statements:
    """Every SQL statement run on the audit table, as its verb."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "audit_events" in statement:
            self.seen.append(statement.split()[0].upper())

    def writes(self) -> list[str]:
        return [verb for verb in self.seen if verb != "SELECT"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def statements(sessions: sessionmaker[Session]) -> Iterator[Statements]:
    recorder = Statements()
    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", recorder)
    yield recorder
    event.remove(engine, "before_cursor_execute", recorder)


@pytest.fixture
def audit(sessions: sessionmaker[Session], clock: FakeClock) -> AuditLog:
    return AuditLog(sessions=sessions, clock=clock, retention=dt.timedelta(days=90))


def _refuse(audit: AuditLog, **fields: Any) -> None:
    values: dict[str, Any] = {
        "operation": "CreateTrainingJob",
        "outcome": "InvalidSignatureException",
        "source_ip": "10.0.0.9",
        "access_key_id": ALICE.access_key_id,
        "account_id": ALICE.account_id,
    }
    audit.refused(**(values | fields))


def test_a_mutating_call_is_one_event_with_everything_the_operator_needs(audit: AuditLog) -> None:
    audit.record(
        caller=ALICE,
        operation="CreateTrainingJob",
        outcome="Success",
        resource="arn:aws:sagemaker:us-east-1:111111111111:training-job/demo",
        source_ip="127.0.0.1",
        request_id="req-1",
    )
    (entry,) = audit.events()
    assert (entry.time, entry.account_id, entry.access_key_id, entry.source_ip) == (
        START,
        ALICE.account_id,
        ALICE.access_key_id,
        "127.0.0.1",
    )
    assert (entry.operation, entry.outcome, entry.request_id, entry.count) == (
        "CreateTrainingJob",
        "Success",
        "req-1",
        1,
    )


def test_a_flood_of_refusals_is_a_handful_of_writes(
    audit: AuditLog, clock: FakeClock, statements: Statements
) -> None:
    for _ in range(10_000):
        _refuse(audit)
        clock.advance(0.005)  # 50 s of refusals, all in the first minute
    assert audit.flush() == 0 and statements.writes() == []
    (pending,) = audit.events()
    assert pending.count == 10_000  # visible before it is written
    clock.advance(10)
    assert audit.flush() == 1
    assert statements.writes() == ["INSERT"]
    (stored,) = audit.events()
    assert (stored.count, stored.time, stored.access_key_id) == (10_000, START, ALICE.access_key_id)


def test_close_writes_the_minute_still_being_counted(
    sessions: sessionmaker[Session], audit: AuditLog
) -> None:
    _refuse(audit)
    _refuse(audit, outcome="SignatureExpired")
    audit.close()
    with sessions() as session:
        stored = repository.newest(session, account_id=None, since=None, limit=10)
    assert sorted(e.outcome for e in stored) == ["InvalidSignatureException", "SignatureExpired"]


def test_a_failed_flush_keeps_the_counts_for_the_next(
    audit: AuditLog, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refuse(audit)
    clock.advance(60)

    def broken(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(repository, "append", broken)
    with pytest.raises(OSError):
        audit.flush()
    monkeypatch.undo()
    assert audit.flush() == 1


def test_too_many_distinct_groups_are_written_early(
    audit: AuditLog, statements: Statements, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.audit.log.MAX_PENDING_GROUPS", 10)
    for i in range(11):
        _refuse(audit, source_ip=f"10.0.0.{i}", account_id=None)
    assert statements.writes() == ["INSERT"]
    assert sum(e.count for e in audit.events()) == 11


def test_events_filter_by_account_and_time_newest_first(audit: AuditLog, clock: FakeClock) -> None:
    for caller in (ALICE, BOB, ALICE):
        audit.record(caller=caller, operation="StopTrainingJob", outcome="Success")
        clock.advance(60)
    _refuse(audit)  # pending, Alice's
    alice = audit.events(account_id=ALICE.account_id)
    assert [e.time for e in alice] == [START + dt.timedelta(minutes=m) for m in (3, 2, 0)]
    assert [e.account_id for e in audit.events(since=START + dt.timedelta(minutes=1))] == [
        ALICE.account_id,
        ALICE.account_id,
        BOB.account_id,
    ]
    naive = (START + dt.timedelta(minutes=2)).replace(tzinfo=None)
    assert len(audit.events(since=naive)) == 2
    assert len(audit.events(limit=1)) == 1
    with pytest.raises(ValidationError):
        audit.events(limit=0)


def test_retention_deletes_only_old_events_and_nothing_ever_updates(
    audit: AuditLog, clock: FakeClock, statements: Statements
) -> None:
    audit.record(caller=ALICE, operation="CreateTrainingJob", outcome="Success")
    clock.advance(89 * 86400)
    audit.record(caller=BOB, operation="CreateTrainingJob", outcome="Success")
    clock.advance(86400 + 1)
    assert audit.purge() == 1
    assert [e.account_id for e in audit.events()] == [BOB.account_id]
    assert "UPDATE" not in statements.seen
    assert statements.writes() == ["INSERT", "INSERT", "DELETE"]


def test_the_background_thread_writes_finished_minutes(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    audit = AuditLog(
        sessions=sessions, clock=clock, retention=dt.timedelta(days=1), flush_interval_seconds=0.01
    )
    audit.start()
    try:
        _refuse(audit)
        clock.advance(60)

        def stored() -> int:
            with sessions() as session:
                return len(repository.newest(session, account_id=None, since=None, limit=10))

        wait_until(stored, what="the audit thread to write the finished minute")
    finally:
        audit.close()
