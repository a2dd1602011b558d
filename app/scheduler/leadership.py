"""Which replica places jobs. With SQLite there is one replica, and it always leads (`SoleLeader`). On
PostgreSQL several replicas may share the database; the one holding an advisory lock leads
(`AdvisoryLeader`), and raises the lease's epoch when it is elected. Every job write the scheduler and its
runs make checks that epoch in its own transaction (`fence`), so a replica that lost the lock while hung
cannot write over its successor's decisions.

The lock is taken on a connection of its own and kept alive by a heartbeat; the database ends that session
when the replica dies (the kernel closes its socket) or stops sending for `lease_seconds`, and a follower,
asking every second, takes over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.db import lease
from app.db.lease import Election

logger = logging.getLogger(__name__)

FOLLOWER_RETRY_SECONDS = 1.0


def this_machine() -> str:
    return socket.gethostname()


OnElected = Callable[[Election], None]  # the takeover: recovery of what the previous leader left
OnDeposed = Callable[[], None]  # the lease is lost: stop what this replica runs


class Leadership(Protocol):
    def fencing(self) -> Callable[[Session], bool] | None:
        """What a write asks, in its transaction, before it lands; None when no other replica can ever
        write (one replica), so that writes need no fencing."""
        ...

    def is_leader(self) -> bool: ...

    def start(self, *, on_elected: OnElected, on_deposed: OnDeposed) -> None: ...

    def close(self) -> None: ...


class SoleLeader:
    """The only replica (SQLite): it leads from its start, as soon as its own recovery is done."""

    def fencing(self) -> None:
        return None

    def is_leader(self) -> bool:
        return True

    def start(self, *, on_elected: OnElected, on_deposed: OnDeposed) -> None:
        on_elected(Election(epoch=0, previous_machine=this_machine()))

    def close(self) -> None:
        return None


class AdvisoryLeader:
    """One of several replicas on PostgreSQL: follows until it gets the advisory lock, then leads."""

    def __init__(
        self,
        *,
        url: str,
        sessions: sessionmaker[Session],
        clock: Clock,
        lease_seconds: float,
    ) -> None:
        self._engine = lease.lock_engine(url)
        self._sessions = sessions
        self._clock = clock
        self._lease_ms = int(lease_seconds * 1000)
        self._heartbeat = min(FOLLOWER_RETRY_SECONDS, lease_seconds / 5)
        self._on_elected: OnElected = lambda _election: None
        self._on_deposed: OnDeposed = lambda: None
        self.holder = f"{this_machine()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._connection: Connection | None = None
        self._epoch: int | None = None  # the term this replica was elected for: its writes carry it
        self._leading = False  # set once the takeover (recovery) is done: then the scheduler places jobs
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def is_leader(self) -> bool:
        return self._leading

    def fencing(self) -> Callable[[Session], bool]:
        return self.fence

    def fence(self, session: Session) -> bool:
        epoch = self._epoch
        return epoch is not None and lease.holds_epoch(session, epoch)

    def start(self, *, on_elected: OnElected, on_deposed: OnDeposed) -> None:
        self._on_elected, self._on_deposed = on_elected, on_deposed
        self._thread = threading.Thread(target=self._loop, name="leadership", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._on_deposed = lambda: None  # a clean exit: the runs were stopped as the service shut down
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._drop_connection()
        self._engine.dispose()

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                if self._epoch is None:
                    self._try_to_lead()
                else:
                    assert self._connection is not None
                    lease.heartbeat(self._connection)
            except SQLAlchemyError:
                logger.warning("lost the scheduler lease's connection", exc_info=True)
                self._drop_connection()
            except Exception:
                logger.exception("taking over the scheduler failed")
                self._drop_connection()
            self._closing.wait(self._heartbeat if self._epoch is not None else FOLLOWER_RETRY_SECONDS)

    def _try_to_lead(self) -> None:
        if self._connection is None:
            self._connection = self._engine.connect()
            lease.hold_session(self._connection, idle_timeout_ms=self._lease_ms)
        got = lease.try_advisory_lock(self._connection)
        self._connection.commit()
        if not got:
            return
        with self._sessions.begin() as session:
            election = lease.elect(session, holder=self.holder, machine=this_machine(), now=self._clock())
        logger.info("leading the scheduler", extra={"epoch": election.epoch, "holder": self.holder})
        self._epoch = election.epoch
        self._on_elected(election)  # recovery first, fenced by the new epoch; then jobs are placed
        self._leading = True

    def _drop_connection(self) -> None:
        was_leader = self._epoch is not None
        self._epoch, self._leading = None, False
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):  # already broken: closing it is all that was left
                self._connection.close()
            self._connection = None
        if was_leader:
            logger.warning("no longer leading the scheduler", extra={"holder": self.holder})
            self._on_deposed()
