"""Replicas on one PostgreSQL database: one leads at a time, the next takes over when the leader's session
ends (it died, or hung past its lease), and the former leader's writes are fenced out by the epoch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app.clock import utcnow
from app.db.lease import Election
from app.db.session import make_engine, make_session_factory
from app.jobs import repository
from app.jobs.lifecycle import JobLifecycle
from app.jobs.status import Secondary, Status
from app.scheduler.leadership import AdvisoryLeader, SoleLeader, this_machine
from tests.conftest import create_request
from tests.support.callers import ROOT
from tests.support.collaborators import RecordingRuntime, job_service, lifecycle_of
from tests.support.polling import wait_until
from tests.support.postgres import Postgres

TAKEOVER = 10.0  # what the e2e test asks of a takeover; the stall guard here


@pytest.fixture
def pg_url(postgres: Postgres) -> str:
    return postgres.fresh_database()


@pytest.fixture
def pg_sessions(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_url)
    yield make_session_factory(engine)
    engine.dispose()


class Replica:
    """One replica's leadership, recording its elections and depositions."""

    def __init__(self, url: str, sessions: sessionmaker[Session], lease_seconds: float = 10.0) -> None:
        self.leader = AdvisoryLeader(url=url, sessions=sessions, clock=utcnow, lease_seconds=lease_seconds)
        self.elections: list[Election] = []
        self.deposed = 0

    def start(self) -> Replica:
        self.leader.start(on_elected=self.elections.append, on_deposed=self._deposed)
        return self

    def _deposed(self) -> None:
        self.deposed += 1


@pytest.fixture
def replicas(pg_url: str, pg_sessions: sessionmaker[Session]) -> Iterator[list[Replica]]:
    with ExitStack() as stack:
        made = [Replica(pg_url, pg_sessions) for _ in range(2)]
        for replica in made:
            stack.callback(replica.leader.close)
        yield made


def leaders(replicas: list[Replica]) -> list[Replica]:
    return [r for r in replicas if r.leader.is_leader()]


def kill_session_of(url: str, replica: Replica) -> None:
    """What the database does when the replica dies: its lock session ends."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                )
            )
    finally:
        engine.dispose()


def test_one_replica_leads_and_another_takes_over_when_its_session_ends(
    replicas: list[Replica], pg_url: str, pg_sessions: sessionmaker[Session]
) -> None:
    for replica in replicas:
        replica.start()
    first = wait_until(lambda: leaders(replicas), what="a leader", timeout=TAKEOVER)
    assert len(first) == 1 and first[0].elections[0].epoch == 1
    assert first[0].elections[0].previous_machine is None  # a fresh database: nobody led before
    other = next(r for r in replicas if r is not first[0])
    assert other.elections == []
    kill_session_of(pg_url, first[0])
    wait_until(lambda: other.leader.is_leader(), what="the follower to take over", timeout=TAKEOVER)
    assert [e.epoch for e in other.elections] == [2]
    assert other.elections[0].previous_machine == this_machine()
    wait_until(lambda: first[0].deposed == 1, what="the former leader to learn it", timeout=TAKEOVER)
    with pg_sessions.begin() as session:
        assert first[0].leader.fence(session) is False
        assert other.leader.fence(session) is True


def test_a_hung_leader_loses_the_lease_and_its_writes_are_refused(
    pg_url: str, pg_sessions: sessionmaker[Session]
) -> None:
    job_sessions = pg_sessions
    hung, follower = (Replica(pg_url, job_sessions, lease_seconds=2.0) for _ in range(2))
    try:
        hung.start()
        wait_until(hung.leader.is_leader, what="the first leader", timeout=TAKEOVER)
        hung.leader._heartbeat = 3600.0  # it stops sending, as a process that hangs does
        follower.start()
        wait_until(follower.leader.is_leader, what="the follower to take over", timeout=TAKEOVER)
        assert hung.leader.is_leader()  # it has not noticed: only the fence stands between it and the rows
        job_id = create_job(job_sessions, "fenced")
        fenced_out = JobLifecycle(sessions=job_sessions, clock=utcnow, fence=hung.leader.fencing())
        current = JobLifecycle(sessions=job_sessions, clock=utcnow, fence=follower.leader.fencing())
        with job_sessions.begin() as session:
            assert not fenced_out.claim_in(session, job_id)
        assert not fenced_out.transition(job_id, status=Status.FAILED, secondary=Secondary.FAILED)
        with job_sessions.begin() as session:
            assert current.claim_in(session, job_id)
    finally:
        for replica in (hung, follower):
            replica.leader.close()


def create_job(sessions: sessionmaker[Session], name: str) -> int:
    jobs = job_service(sessions, lifecycle_of(sessions, utcnow), RecordingRuntime())
    jobs.create(create_request(name), caller=ROOT)
    with sessions() as session:
        job = repository.get(session, account_id=ROOT.account_id, name=name)
    assert job is not None
    return job.id


def test_sqlite_has_one_replica_that_leads_at_once_and_needs_no_fence() -> None:
    sole = SoleLeader()
    elections: list[Election] = []
    sole.start(on_elected=elections.append, on_deposed=lambda: None)
    assert sole.is_leader() and sole.fencing() is None
    assert elections == [Election(epoch=0, previous_machine=this_machine())]
