"""Queries over tags. Every tag read or write, whichever resource it belongs to, goes through here.

Each takes the account the resource belongs to: a query for another account's ARN finds nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from app.db.models import Tag


@dataclass(frozen=True, slots=True)
class TagPair:
    key: str
    value: str


def _of(account_id: str, arn: str) -> ColumnElement[bool]:
    return (Tag.account_id == account_id) & (Tag.resource_arn == arn)


def keys_of(session: Session, *, account_id: str, arn: str) -> set[str]:
    return set(session.scalars(select(Tag.key).where(_of(account_id, arn))))


def insert(session: Session, *, account_id: str, arn: str, tags: Mapping[str, str]) -> None:
    """Tags of a resource created in the same transaction: it has none yet, so nothing is overwritten."""
    session.add_all(
        Tag(account_id=account_id, resource_arn=arn, key=key, value=value) for key, value in tags.items()
    )


def put(session: Session, *, account_id: str, arn: str, tags: Mapping[str, str]) -> None:
    """Add each tag, overwriting the value of a key the resource already has."""
    existing = {t.key: t for t in session.scalars(select(Tag).where(_of(account_id, arn), Tag.key.in_(tags)))}
    for key, value in tags.items():
        if key in existing:
            existing[key].value = value
        else:
            session.add(Tag(account_id=account_id, resource_arn=arn, key=key, value=value))


def page(session: Session, *, account_id: str, arn: str, after: str | None, limit: int) -> list[TagPair]:
    """The resource's tags in key order, starting after the key `after`."""
    statement = select(Tag.key, Tag.value).where(_of(account_id, arn))
    if after is not None:
        statement = statement.where(Tag.key > after)
    return [TagPair(key, value) for key, value in session.execute(statement.order_by(Tag.key).limit(limit))]


def remove(session: Session, *, account_id: str, arn: str, keys: Collection[str]) -> None:
    session.execute(delete(Tag).where(_of(account_id, arn), Tag.key.in_(keys)))


def remove_all(session: Session, *, account_id: str, arn: str) -> None:
    """Drop every tag of a resource being deleted."""
    session.execute(delete(Tag).where(_of(account_id, arn)))
