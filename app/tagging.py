"""SageMaker's tagging API (AddTags, ListTags, DeleteTags) over any resource ARN."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Tag
from app.errors import NotFound, ValidationError
from app.wire import tokens

MAX_TAGS_PER_RESOURCE = 50


def check_unique_keys(tags: list[dict[str, str]]) -> None:
    """SageMaker refuses a request that gives the same tag key twice."""
    repeated = sorted(key for key, count in Counter(t["Key"] for t in tags).items() if count > 1)
    if repeated:
        raise ValidationError(f"Duplicate tag key: {', '.join(repeated)}")


class TagService:
    def __init__(self, *, sessions: sessionmaker[Session], resource_exists: Callable[[str], bool]) -> None:
        self._sessions = sessions
        # Tells whether an ARN names a resource of ours that exists; tags of unknown resources are refused.
        self._resource_exists = resource_exists

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        """AddTags: insert or overwrite, keeping at most 50 tags on a resource."""
        check_unique_keys(tags)
        self._require(arn)
        with self._sessions.begin() as session:
            existing = {t.key: t for t in session.scalars(select(Tag).where(Tag.resource_arn == arn))}
            new_keys = {t["Key"] for t in tags} - existing.keys()
            if len(existing) + len(new_keys) > MAX_TAGS_PER_RESOURCE:
                raise ValidationError(
                    f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; "
                    f"{arn} would have {len(existing) + len(new_keys)}."
                )
            for tag in tags:
                if tag["Key"] in existing:
                    existing[tag["Key"]].value = tag["Value"]
                else:
                    session.add(Tag(resource_arn=arn, key=tag["Key"], value=tag["Value"]))
        return {"Tags": tags}

    def list_tags(self, arn: str, *, next_token: str | None = None, max_results: int = 50) -> dict[str, Any]:
        """ListTags in key order, paginated."""
        self._require(arn)
        statement = select(Tag).where(Tag.resource_arn == arn)
        if next_token:
            (after,) = tokens.decode(next_token, {"ResourceArn": arn}, kinds=(str,))
            statement = statement.where(Tag.key > after)
        with self._sessions() as session:
            rows = list(session.scalars(statement.order_by(Tag.key).limit(max_results + 1)))
        out: dict[str, Any] = {"Tags": [{"Key": t.key, "Value": t.value} for t in rows[:max_results]]}
        if len(rows) > max_results:
            out["NextToken"] = tokens.encode([rows[max_results - 1].key], {"ResourceArn": arn})
        return out

    def delete_tags(self, arn: str, keys: list[str]) -> dict[str, Any]:
        """DeleteTags: remove the named keys; keys that are absent are ignored, as AWS does."""
        self._require(arn)
        with self._sessions.begin() as session:
            session.execute(delete(Tag).where(Tag.resource_arn == arn, Tag.key.in_(keys)))
        return {}

    def _require(self, arn: str) -> None:
        if not self._resource_exists(arn):
            raise NotFound()
