"""Accounts and their access keys: creation, listing, revocation, jobs' temporary credentials, and the
key lookup SigV4 verification runs on every request.

Secrets are stored wrapped by the master key (bound to the key id) and are handed out once, when made.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from app.auth import key_material, repository
from app.auth.caller import Caller
from app.auth.keys import KeyRecord
from app.auth.ttl_cache import TtlCache
from app.clock import Clock
from app.crypto.keyring import Keyring, UnwrapError
from app.db.models import AccessKey, Account
from app.errors import NotFound, ResourceInUse, ValidationError
from app.wire import pages
from app.wire.pages import Page, PageRequest

logger = logging.getLogger(__name__)

# A revocation, even one made by another process sharing the database, is seen within this time.
LOOKUP_TTL_SECONDS = 1.0
LOOKUP_CACHE_ENTRIES = 10_000
# IAM's rule for user names, which operators will reuse for accounts.
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")


@dataclass(frozen=True, slots=True)
class AccountInfo:
    account_id: str
    name: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AccessKeyInfo:
    """A key as listings show it: never its secret."""

    access_key_id: str
    account_id: str
    is_admin: bool
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class NewAccessKey:
    """A key just made, with its secret: the only time the secret leaves the service."""

    key: AccessKeyInfo
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TemporaryCredentials:
    """A job's session credentials, as a container credentials endpoint serves them."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: dt.datetime


class IdentityService:
    """Accounts and access keys; implements `app.auth.keys.KeyLookup`."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        keyring: Keyring,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._keyring = keyring
        self._clock = clock
        self._cache: TtlCache[str, KeyRecord | None] = TtlCache(
            ttl=LOOKUP_TTL_SECONDS, max_entries=LOOKUP_CACHE_ENTRIES, monotonic=monotonic
        )

    # -- accounts ------------------------------------------------------------------------------------

    def create_account(self, name: str) -> tuple[AccountInfo, NewAccessKey]:
        """A new account with a fresh 12-digit id, and its first (non-admin) access key."""
        if not ACCOUNT_NAME.fullmatch(name):
            raise ValidationError(
                "Account names are 1 to 64 characters of letters, digits and +=,.@_- ; got " + repr(name)
            )
        with self._sessions.begin() as session:
            if repository.account_named(session, name) is not None:
                raise ResourceInUse(f"An account named {name!r} already exists.")
            account = Account(id=self._unused_account_id(session), name=name, created_at=self._clock())
            repository.add_account(session, account)
            session.flush()
            first = self._add_key(session, account_id=account.id, admin=False)
        return _account_info(account), first

    def ensure_account(self, account_id: str, *, name: str) -> AccountInfo:
        """The account with this id, created under `name` if it does not exist (bootstrap)."""
        with self._sessions.begin() as session:
            account = repository.get_account(session, account_id)
            if account is None:
                account = Account(id=account_id, name=name, created_at=self._clock())
                repository.add_account(session, account)
        return _account_info(account)

    def list_accounts(self, page: PageRequest | None = None) -> Page[AccountInfo]:
        """Accounts, oldest first, a page at a time."""
        page = page or PageRequest()
        after = page.after_time_and_id(filters=_ACCOUNTS)
        with self._sessions() as session:
            found = [_account_info(a) for a in repository.accounts(session, after=after, limit=page.fetch)]
        rows = [(pages.time_and_id(a.created_at, a.account_id), a) for a in found]
        return pages.cut(rows, request=page, filters=_ACCOUNTS)

    # -- long-lived keys -----------------------------------------------------------------------------

    def create_access_key(self, account_id: str, *, admin: bool = False) -> NewAccessKey:
        """A new `AKIA…` key of the account, with its secret."""
        with self._sessions.begin() as session:
            _require_account(session, account_id)
            return self._add_key(session, account_id=account_id, admin=admin)

    def put_access_key(
        self, access_key_id: str, secret_access_key: str, *, account_id: str, admin: bool
    ) -> None:
        """Create the key with this id and secret, or make an existing one match (secret, account, admin,
        active again): the configured root key is whatever the settings say."""
        wrapped = self._wrap_secret(access_key_id, secret_access_key)
        with self._sessions.begin() as session:
            _require_account(session, account_id)
            key = repository.get_key(session, access_key_id)
            if key is None:
                key = AccessKey(access_key_id=access_key_id, created_at=self._clock())
                repository.add_key(session, key)
            key.account_id, key.wrapped_secret, key.is_admin = account_id, wrapped, admin
            key.revoked_at, key.job_name, key.wrapped_session_token, key.expires_at = None, None, None, None
            key.role_session = None
        self._cache.discard(access_key_id)

    def get_access_key(self, access_key_id: str) -> AccessKeyInfo | None:
        """The key (revoked or not, long-lived or temporary), without its secret."""
        with self._sessions() as session:
            key = repository.get_key(session, access_key_id)
            return None if key is None else _key_info(key)

    def list_access_keys(
        self, account_id: str | None = None, *, page: PageRequest | None = None
    ) -> Page[AccessKeyInfo]:
        """Long-lived keys, revoked ones included, of one account (which must exist) or of all, oldest
        first, a page at a time."""
        page = page or PageRequest()
        filters = {"list": "keys", "account": account_id}
        after = page.after_time_and_id(filters=filters)
        with self._sessions() as session:
            if account_id is not None:
                _require_account(session, account_id)
            keys = repository.long_lived_keys(session, account_id=account_id, after=after, limit=page.fetch)
            found = [_key_info(k) for k in keys]
        rows = [(pages.time_and_id(k.created_at, k.access_key_id), k) for k in found]
        return pages.cut(rows, request=page, filters=filters)

    def revoke(self, access_key_id: str) -> None:
        """Revoke the key: refused from now on in this process, within a second in any other."""
        with self._sessions.begin() as session:
            if repository.get_key(session, access_key_id) is None:
                raise NotFound(f"The access key {access_key_id} does not exist.")
            repository.revoke(session, access_key_id, at=self._clock())
        self._cache.discard(access_key_id)
        logger.info("access key revoked", extra={"access_key_id": access_key_id})

    # -- jobs' temporary credentials -----------------------------------------------------------------

    def issue_job_credentials(
        self, account_id: str, job_name: str, *, ttl: dt.timedelta
    ) -> TemporaryCredentials:
        """Session credentials (`ASIA…` + token) acting for the job's account, expiring after `ttl`."""
        return self._issue_session(account_id, ttl=ttl, job_name=job_name)

    def issue_role_credentials(
        self, account_id: str, *, role_name: str, session_name: str, ttl: dt.timedelta
    ) -> TemporaryCredentials:
        """STS AssumeRole's session credentials: the account's, known as the role's session until `ttl`."""
        return self._issue_session(account_id, ttl=ttl, role_session=f"{role_name}/{session_name}")

    def account(self, account_id: str) -> AccountInfo:
        """The account (NotFound if it does not exist)."""
        with self._sessions() as session:
            found = repository.get_account(session, account_id)
            if found is None:
                raise NotFound(f"The account {account_id} does not exist.")
            return _account_info(found)

    def _issue_session(
        self,
        account_id: str,
        *,
        ttl: dt.timedelta,
        job_name: str | None = None,
        role_session: str | None = None,
    ) -> TemporaryCredentials:
        key, secret = self._new_key(account_id=account_id, admin=False, temporary=True)
        token = key_material.session_token()
        key.job_name, key.role_session = job_name, role_session
        key.wrapped_session_token = self._keyring.wrap(
            token.encode(), context=_token_context(key.access_key_id)
        )
        key.expires_at = key.created_at + ttl
        with self._sessions.begin() as session:
            _require_account(session, account_id)
            repository.add_key(session, key)
        return TemporaryCredentials(key.access_key_id, secret, token, key.expires_at)

    def revoke_job_credentials(self, job_name: str, *, account_id: str) -> int:
        """Revoke every temporary key issued to the job (at its end); returns how many were active."""
        with self._sessions.begin() as session:
            revoked = repository.revoke_job_keys(
                session, account_id=account_id, job_name=job_name, at=self._clock()
            )
        for access_key_id in revoked:
            self._cache.discard(access_key_id)
        return len(revoked)

    def revoke_all_job_credentials(self) -> int:
        """Revoke every active temporary key (at startup, when no job can be running)."""
        with self._sessions.begin() as session:
            revoked = repository.revoke_all_job_keys(session, at=self._clock())
        for access_key_id in revoked:
            self._cache.discard(access_key_id)
        return len(revoked)

    # -- KeyLookup -----------------------------------------------------------------------------------

    def lookup(self, access_key_id: str) -> KeyRecord | None:
        """The active key's record (secret decrypted), or None if unknown, revoked or expired.

        Cached for up to a second, misses included: a revocation here drops the entry at once.
        """
        record = self._cache.get_or_load(access_key_id, lambda: self._load(access_key_id))
        if record is not None and record.expires_at is not None and record.expires_at <= self._clock():
            return None
        return record

    def _load(self, access_key_id: str) -> KeyRecord | None:
        with self._sessions() as session:
            key = repository.get_key(session, access_key_id)
        if key is None or key.revoked_at is not None:
            return None
        try:
            return self._record(key)
        except UnwrapError:
            # Another master key, or a damaged row: the key cannot verify anything. Never log the value.
            logger.error("access key secret does not unwrap", extra={"access_key_id": access_key_id})
            return None

    def _record(self, key: AccessKey) -> KeyRecord:
        secret = self._keyring.unwrap(key.wrapped_secret, context=key.access_key_id.encode()).decode()
        token = None
        if key.wrapped_session_token is not None:
            token = self._keyring.unwrap(
                key.wrapped_session_token, context=_token_context(key.access_key_id)
            ).decode()
        caller = Caller(
            account_id=key.account_id,
            access_key_id=key.access_key_id,
            is_admin=key.is_admin,
            job_name=key.job_name,
            role_session=key.role_session,
        )
        return KeyRecord(key.access_key_id, secret, caller, token, key.expires_at)

    # -- helpers -------------------------------------------------------------------------------------

    def _add_key(self, session: Session, *, account_id: str, admin: bool) -> NewAccessKey:
        key, secret = self._new_key(account_id=account_id, admin=admin)
        repository.add_key(session, key)
        return NewAccessKey(_key_info(key), secret)

    def _new_key(self, *, account_id: str, admin: bool, temporary: bool = False) -> tuple[AccessKey, str]:
        """A key row with a fresh id and its secret (wrapped in the row, in the clear beside it)."""
        access_key_id = key_material.access_key_id(temporary=temporary)
        secret = key_material.secret_access_key()
        key = AccessKey(
            access_key_id=access_key_id,
            account_id=account_id,
            wrapped_secret=self._wrap_secret(access_key_id, secret),
            is_admin=admin,
            created_at=self._clock(),
        )
        return key, secret

    def _wrap_secret(self, access_key_id: str, secret: str) -> bytes:
        return self._keyring.wrap(secret.encode(), context=access_key_id.encode())

    @staticmethod
    def _unused_account_id(session: Session) -> str:
        while True:
            candidate = key_material.account_id()
            if repository.get_account(session, candidate) is None:
                return candidate


def _require_account(session: Session, account_id: str) -> None:
    if repository.get_account(session, account_id) is None:
        raise NotFound(f"The account {account_id} does not exist.")


def _token_context(access_key_id: str) -> bytes:
    # Distinct from the secret's context, so the two wrapped values cannot be swapped.
    return b"session-token:" + access_key_id.encode()


# What a token was issued for: a token of one list is refused by another.
_ACCOUNTS = {"list": "accounts"}


def _account_info(account: Account) -> AccountInfo:
    return AccountInfo(account.id, account.name, account.created_at)


def _key_info(key: AccessKey) -> AccessKeyInfo:
    return AccessKeyInfo(key.access_key_id, key.account_id, key.is_admin, key.created_at, key.revoked_at)
