"""SageMaker's tagging API (AddTags, ListTags, DeleteTags) over any resource ARN."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.errors import NotFound, ValidationError
from app.tags import repository
from app.wire import tokens

MAX_TAGS_PER_RESOURCE = 50


def check_unique_keys(tags: list[dict[str, str]]) -> None:
    """SageMaker refuses a request that gives the same tag key twice."""
    repeated = sorted(key for key, count in Counter(t["Key"] for t in tags).items() if count > 1)
    if repeated:
        raise ValidationError(f"Duplicate tag key: {', '.join(repeated)}")


def by_key(tags: list[dict[str, str]]) -> dict[str, str]:
    """Wire tags (`[{"Key", "Value"}]`, keys already checked unique) as a key → value mapping."""
    return {t["Key"]: t["Value"] for t in tags}


class TagService:
    def __init__(self, *, sessions: sessionmaker[Session], resource_exists: Callable[[str], bool]) -> None:
        self._sessions = sessions
        # Tells whether an ARN names a resource of ours that exists; tags of unknown resources are refused.
        self._resource_exists = resource_exists

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        """AddTags: insert or overwrite, keeping at most 50 tags on a resource."""
        check_unique_keys(tags)
        self._require(arn)
        given = by_key(tags)
        with self._sessions.begin() as session:
            total = len(repository.keys_of(session, arn) | given.keys())
            if total > MAX_TAGS_PER_RESOURCE:
                raise ValidationError(
                    f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; {arn} would have {total}."
                )
            repository.put(session, arn, given)
        return {"Tags": tags}

    def list_tags(self, arn: str, *, next_token: str | None = None, max_results: int = 50) -> dict[str, Any]:
        """ListTags in key order, paginated."""
        self._require(arn)
        after = None
        if next_token:
            (after,) = tokens.decode(next_token, {"ResourceArn": arn}, kinds=(str,))
        with self._sessions() as session:
            rows = repository.page(session, arn, after=after, limit=max_results + 1)
        out: dict[str, Any] = {"Tags": [{"Key": t.key, "Value": t.value} for t in rows[:max_results]]}
        if len(rows) > max_results:
            out["NextToken"] = tokens.encode([rows[max_results - 1].key], {"ResourceArn": arn})
        return out

    def delete_tags(self, arn: str, keys: list[str]) -> dict[str, Any]:
        """DeleteTags: remove the named keys; keys that are absent are ignored, as AWS does."""
        self._require(arn)
        with self._sessions.begin() as session:
            repository.remove(session, arn, keys)
        return {}

    def _require(self, arn: str) -> None:
        if not self._resource_exists(arn):
            raise NotFound()
