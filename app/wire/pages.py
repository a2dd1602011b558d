"""Pages of a list, as SageMaker's lists hand them out: up to `MaxResults` items and an opaque `NextToken`.

A repository fetches one row more than asked, each row with its keyset cursor (the values of its sort
key); `cut` keeps the page and, when that extra row exists, issues a token holding the last row's cursor
and a fingerprint of the filters, so walking the pages never skips or repeats an item even while rows
are added, and a token is refused (400) when it is corrupt or replayed with other filters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.errors import ValidationError
from app.wire import tokens

T = TypeVar("T")

# SageMaker's list operations take MaxResults 1..100; the operator lists default to a full page.
MAX_RESULTS_LIMIT = 100
DEFAULT_MAX_RESULTS = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    max_results: int = DEFAULT_MAX_RESULTS
    next_token: str | None = None

    def after(self, *, filters: dict[str, Any], kinds: tuple[type, ...]) -> list[Any] | None:
        """The cursor the token carries (rows after it make the page), or None for the first page."""
        if not self.next_token:
            return None
        return tokens.decode(self.next_token, filters, kinds=kinds)

    def after_time_and_id(self, *, filters: dict[str, Any]) -> tuple[dt.datetime, str] | None:
        """The cursor of a list ordered by creation time, then id (as `time_and_id` wrote it)."""
        after = self.after(filters=filters, kinds=(str, str))
        if after is None:
            return None
        try:
            return dt.datetime.fromisoformat(after[0]), after[1]
        except ValueError:
            raise ValidationError("Invalid pagination token") from None

    @property
    def fetch(self) -> int:
        """How many rows to read: one more than a page, to know whether another page follows."""
        return self.max_results + 1


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


def time_and_id(created_at: dt.datetime, row_id: str) -> list[Any]:
    """A cursor of a list ordered by creation time, then id."""
    return [created_at.isoformat(), row_id]


def cut(rows: Sequence[tuple[list[Any], T]], *, request: PageRequest, filters: dict[str, Any]) -> Page[T]:
    """The page in `rows` (each item with its cursor, `request.fetch` of them at most), with its token."""
    kept = rows[: request.max_results]
    token = None
    if len(rows) > request.max_results:
        token = tokens.encode(kept[-1][0], filters)
    return Page(items=[item for _, item in kept], next_token=token)
