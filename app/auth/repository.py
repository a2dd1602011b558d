"""Queries over accounts and access keys. Every identity read or write goes through here."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, select, tuple_, update
from sqlalchemy.orm import Session

from app.db.models import AccessKey, Account


def get_account(session: Session, account_id: str) -> Account | None:
    return session.get(Account, account_id)


def account_named(session: Session, name: str) -> Account | None:
    return session.scalars(select(Account).where(Account.name == name)).first()


# A page's place in a list ordered by creation time, then id: the (time, id) of the row before it.
After = tuple[dt.datetime, str] | None


def accounts(session: Session, *, after: After = None, limit: int | None = None) -> list[Account]:
    """Accounts, oldest first; a page of `limit` of them after the `after` cursor."""
    statement = select(Account).order_by(Account.created_at, Account.id).limit(limit)
    if after is not None:
        statement = statement.where(tuple_(Account.created_at, Account.id) > after)
    return list(session.scalars(statement))


def add_account(session: Session, account: Account) -> None:
    session.add(account)


def get_key(session: Session, access_key_id: str) -> AccessKey | None:
    return session.get(AccessKey, access_key_id)


def add_key(session: Session, key: AccessKey) -> None:
    session.add(key)


def long_lived_keys(
    session: Session, *, account_id: str | None, after: After = None, limit: int | None = None
) -> list[AccessKey]:
    """The long-lived keys (jobs' and assumed roles' temporary ones left out), of one account or of all,
    oldest first; a page of `limit` of them after the `after` cursor."""
    statement = select(AccessKey).where(AccessKey.job_name.is_(None), AccessKey.role_session.is_(None))
    if account_id is not None:
        statement = statement.where(AccessKey.account_id == account_id)
    if after is not None:
        statement = statement.where(tuple_(AccessKey.created_at, AccessKey.access_key_id) > after)
    return list(
        session.scalars(statement.order_by(AccessKey.created_at, AccessKey.access_key_id).limit(limit))
    )


def revoke(session: Session, access_key_id: str, *, at: dt.datetime) -> bool:
    """Revoke the key if it is active; False when it was already revoked (or does not exist)."""
    result = session.execute(
        update(AccessKey)
        .where(AccessKey.access_key_id == access_key_id, AccessKey.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_job_keys(session: Session, *, account_id: str, job_name: str, at: dt.datetime) -> list[str]:
    """Revoke the job's active temporary keys; returns their ids."""
    return _revoke_where(session, at, AccessKey.account_id == account_id, AccessKey.job_name == job_name)


def revoke_all_job_keys(session: Session, *, at: dt.datetime) -> list[str]:
    """Revoke every active temporary key, whichever job holds it; returns their ids."""
    return _revoke_where(session, at, AccessKey.job_name.is_not(None))


def _revoke_where(session: Session, at: dt.datetime, *conditions: ColumnElement[bool]) -> list[str]:
    ids = list(
        session.scalars(select(AccessKey.access_key_id).where(*conditions, AccessKey.revoked_at.is_(None)))
    )
    if ids:
        session.execute(update(AccessKey).where(AccessKey.access_key_id.in_(ids)).values(revoked_at=at))
    return ids
