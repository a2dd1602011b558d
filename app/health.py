"""The health check `/healthz` answers: the server runs and its database is reachable."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.db import session as db


class HealthCheck:
    def __init__(self, *, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def check(self) -> dict[str, str]:
        """`{"status": "ok"}` once the database has answered; raises if it cannot be reached."""
        db.ping(self._sessions)
        return {"status": "ok"}
