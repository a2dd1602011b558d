"""`AuditLog`: records mutating calls as they happen, counts refusals in memory and writes them a minute
at a time, and deletes what is older than the retention. A background thread owned here does the
writing and the purging; `close` writes whatever is still counted."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from app.audit import repository
from app.audit.entries import AuditEntry, RefusalAggregator
from app.auth.caller import Caller
from app.clock import Clock
from app.errors import ValidationError

logger = logging.getLogger(__name__)

MAX_LIMIT = 1000
# Past this many (key or address, minute) groups, counted refusals are written early: memory stays flat.
MAX_PENDING_GROUPS = 1000


class AuditLog:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        retention: dt.timedelta,
        flush_interval_seconds: float = 5.0,
        purge_interval_seconds: float = 3600.0,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._retention = retention
        self._flush_interval = flush_interval_seconds
        self._purge_every = max(1, round(purge_interval_seconds / flush_interval_seconds))
        self._refusals = RefusalAggregator()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self,
        *,
        caller: Caller,
        operation: str,
        outcome: str,
        resource: str | None = None,
        source_ip: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Append one event for a mutating call (outcome `Success` or the error code). One INSERT, so
        call it from a worker thread rather than the event loop."""
        entry = AuditEntry(
            time=self._clock(),
            operation=operation,
            outcome=outcome,
            account_id=caller.account_id,
            access_key_id=caller.access_key_id,
            source_ip=source_ip,
            resource=resource,
            request_id=request_id,
        )
        with self._sessions.begin() as session:
            repository.append(session, [entry])

    def refused(
        self,
        *,
        operation: str,
        outcome: str,
        source_ip: str | None,
        access_key_id: str | None = None,
        account_id: str | None = None,
        resource: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Count a refused request (outcome: the error code). No I/O unless too many groups are pending:
        each (key or address, minute, outcome) becomes one event with a count once its minute is over.
        Give `account_id` when the key is a known one; unknown keys are counted per source address."""
        entry = AuditEntry(
            time=self._clock(),
            operation=operation,
            outcome=outcome,
            account_id=account_id,
            access_key_id=access_key_id,
            source_ip=source_ip,
            resource=resource,
            request_id=request_id,
        )
        with self._lock:
            self._refusals.add(entry)
            overflow = len(self._refusals) > MAX_PENDING_GROUPS
        if overflow:
            self.flush(everything=True)

    def flush(self, *, everything: bool = False) -> int:
        """Write the refusal counts of the minutes that are over (all of them with `everything`)."""
        with self._lock:
            entries = self._refusals.take(before=None if everything else self._clock())
        if not entries:
            return 0
        try:
            with self._sessions.begin() as session:
                repository.append(session, entries)
        except Exception:
            with self._lock:  # counted again, to be written by a later flush
                for entry in entries:
                    self._refusals.add(entry)
            raise
        return len(entries)

    def purge(self) -> int:
        """Delete the events older than the retention."""
        with self._sessions.begin() as session:
            deleted = repository.purge_before(session, self._clock() - self._retention)
        if deleted:
            logger.info("audit events purged", extra={"deleted": deleted})
        return deleted

    def events(
        self, *, account_id: str | None = None, since: dt.datetime | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Events newest first, refusals still being counted included; a naive `since` is UTC."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)  # a time without an offset is read as UTC
        with self._sessions() as session:
            stored = repository.newest(session, account_id=account_id, since=since, limit=limit)
        with self._lock:
            pending = [
                e
                for e in self._refusals.pending()
                if (account_id is None or e.account_id == account_id) and (since is None or e.time >= since)
            ]
        return sorted(stored + pending, key=lambda e: e.time, reverse=True)[:limit]

    def start(self) -> None:
        """Purge once, then flush and (hourly) purge on a background thread until `close`."""
        self.purge()
        self._thread = threading.Thread(target=self._run, name="audit", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush(everything=True)

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self._flush_interval):
            ticks += 1
            try:
                self.flush()
                if ticks % self._purge_every == 0:
                    self.purge()
            except Exception:
                # The next tick tries again; the counts stay in memory meanwhile.
                logger.exception("audit flush failed")
