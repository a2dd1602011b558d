"""What SigV4 verification needs to know about an access key, and the lookup that provides it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from app.auth.caller import Caller


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An active access key: its secret (to recompute the signature) and whom it authenticates.

    A temporary key (a job's) also has a session token the request must carry in `X-Amz-Security-Token`,
    and an expiry. The secret and the token stay out of `repr`, so a logged record leaks neither.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    caller: Caller
    session_token: str | None = field(default=None, repr=False)
    expires_at: dt.datetime | None = None


class KeyLookup(Protocol):
    def lookup(self, access_key_id: str) -> KeyRecord | None:
        """The key's record, or None if it is unknown, revoked or expired."""
        ...
