"""Queries over tags. Every tag read or write, whichever resource it belongs to, goes through here."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.models import Tag


@dataclass(frozen=True, slots=True)
class TagPair:
    key: str
    value: str


def keys_of(session: Session, arn: str) -> set[str]:
    return set(session.scalars(select(Tag.key).where(Tag.resource_arn == arn)))


def insert(session: Session, arn: str, tags: Mapping[str, str]) -> None:
    """Tags of a resource created in the same transaction: it has none yet, so nothing is overwritten."""
    session.add_all(Tag(resource_arn=arn, key=key, value=value) for key, value in tags.items())


def put(session: Session, arn: str, tags: Mapping[str, str]) -> None:
    """Add each tag, overwriting the value of a key the resource already has."""
    existing = {
        t.key: t for t in session.scalars(select(Tag).where(Tag.resource_arn == arn, Tag.key.in_(tags)))
    }
    for key, value in tags.items():
        if key in existing:
            existing[key].value = value
        else:
            session.add(Tag(resource_arn=arn, key=key, value=value))


def page(session: Session, arn: str, *, after: str | None, limit: int) -> list[TagPair]:
    """The resource's tags in key order, starting after the key `after`."""
    statement = select(Tag.key, Tag.value).where(Tag.resource_arn == arn)
    if after is not None:
        statement = statement.where(Tag.key > after)
    return [TagPair(key, value) for key, value in session.execute(statement.order_by(Tag.key).limit(limit))]


def remove(session: Session, arn: str, keys: Collection[str]) -> None:
    session.execute(delete(Tag).where(Tag.resource_arn == arn, Tag.key.in_(keys)))


def remove_all(session: Session, arn: str) -> None:
    """Drop every tag of a resource being deleted."""
    session.execute(delete(Tag).where(Tag.resource_arn == arn))
