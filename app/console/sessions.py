"""Console sign-in: an access key id and secret buy a session, a random token kept by the browser in a
cookie and in the database only as its SHA-256, so replicas sharing the database share the sessions.

Every request re-reads the key the session signed in with, so revoking the key ends its sessions too.
The CSRF token is derived from the session token (HMAC), so it is per session and needs no column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.auth.keys import KeyLookup
from app.clock import Clock
from app.console import repository
from app.db.models import ConsoleSession

logger = logging.getLogger(__name__)

_CSRF_LABEL = b"sagelite console csrf"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session just made: the token goes into the cookie, and nowhere else."""

    token: str = field(repr=False)
    caller: Caller


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """The session a request's cookie names, with whom it acts for and the CSRF token its forms carry."""

    caller: Caller
    csrf_token: str = field(repr=False)
    token_sha256: str = field(repr=False)


class ConsoleSessions:
    def __init__(
        self, *, sessions: sessionmaker[Session], keys: KeyLookup, clock: Clock, ttl: dt.timedelta
    ) -> None:
        self._sessions, self._keys, self._clock = sessions, keys, clock
        self.ttl = ttl

    def sign_in(self, *, access_key_id: str, secret_access_key: str) -> SignedIn | None:
        """A new session for a long-lived key whose secret matches; None otherwise (no reason given)."""
        record = self._keys.lookup(access_key_id)
        if record is None or record.session_token is not None:  # unknown, revoked, or a job's key
            return None
        if not hmac.compare_digest(record.secret_access_key.encode(), secret_access_key.encode()):
            return None
        token, now = secrets.token_urlsafe(32), self._clock()
        row = ConsoleSession(
            token_sha256=_sha256(token),
            access_key_id=access_key_id,
            created_at=now,
            expires_at=now + self.ttl,
        )
        with self._sessions.begin() as session:
            repository.purge_expired(session, now=now)
            repository.add(session, row)
        logger.info("console sign-in", extra={"access_key_id": access_key_id})
        return SignedIn(token=token, caller=record.caller)

    def resolve(self, token: str) -> ActiveSession | None:
        """The live session of this cookie value, if its key is still active."""
        digest = _sha256(token)
        with self._sessions() as session:
            row = repository.live(session, token_sha256=digest, now=self._clock())
            key_id = None if row is None else row.access_key_id
        record = None if key_id is None else self._keys.lookup(key_id)
        if record is None:
            return None
        return ActiveSession(caller=record.caller, csrf_token=csrf_token_of(token), token_sha256=digest)

    def sign_out(self, active: ActiveSession) -> None:
        with self._sessions.begin() as session:
            repository.remove(session, token_sha256=active.token_sha256)


def csrf_token_of(token: str) -> str:
    return hmac.new(token.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
