"""SageMaker's tagging API (AddTags, ListTags, DeleteTags) over any resource ARN."""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
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


class ResourceCheck(Protocol):
    """Whether `arn` names an existing resource of the account (the job service answers for jobs)."""

    def __call__(self, arn: str, *, account_id: str) -> bool: ...


class TagService:
    def __init__(self, *, sessions: sessionmaker[Session], resource_exists: ResourceCheck) -> None:
        self._sessions = sessions
        # Tags of unknown resources, and of other accounts' resources, are refused alike (NotFound).
        self._resource_exists = resource_exists

    def add_tags(self, arn: str, tags: list[dict[str, str]], *, caller: Caller) -> dict[str, Any]:
        """AddTags: insert or overwrite, keeping at most 50 tags on a resource."""
        check_unique_keys(tags)
        account_id = self._require(arn, caller)
        given = by_key(tags)
        with self._sessions.begin() as session:
            total = len(repository.keys_of(session, account_id=account_id, arn=arn) | given.keys())
            if total > MAX_TAGS_PER_RESOURCE:
                raise ValidationError(
                    f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; {arn} would have {total}."
                )
            repository.put(session, account_id=account_id, arn=arn, tags=given)
        return {"Tags": tags}

    def list_tags(
        self, arn: str, *, caller: Caller, next_token: str | None = None, max_results: int = 50
    ) -> dict[str, Any]:
        """ListTags in key order, paginated."""
        account_id = self._require(arn, caller)
        after = None
        if next_token:
            (after,) = tokens.decode(next_token, {"ResourceArn": arn}, kinds=(str,))
        with self._sessions() as session:
            rows = repository.page(
                session, account_id=account_id, arn=arn, after=after, limit=max_results + 1
            )
        out: dict[str, Any] = {"Tags": [{"Key": t.key, "Value": t.value} for t in rows[:max_results]]}
        if len(rows) > max_results:
            out["NextToken"] = tokens.encode([rows[max_results - 1].key], {"ResourceArn": arn})
        return out

    def delete_tags(self, arn: str, keys: list[str], *, caller: Caller) -> dict[str, Any]:
        """DeleteTags: remove the named keys; keys that are absent are ignored, as AWS does."""
        account_id = self._require(arn, caller)
        with self._sessions.begin() as session:
            repository.remove(session, account_id=account_id, arn=arn, keys=keys)
        return {}

    def _require(self, arn: str, caller: Caller) -> str:
        """The caller's account, once `arn` is known to name one of its resources; NotFound otherwise."""
        if not self._resource_exists(arn, account_id=caller.account_id):
            raise NotFound()
        return caller.account_id
