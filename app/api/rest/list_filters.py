"""The query parameters SageMaker's List operations share (name, status, time bounds, sort, page), as the
REST list routes take them: one model, documented from the operation's own request shape, and turned into
that operation's members.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.api.rest.documentation import EPOCH_OR_ISO_8601, MODEL, parameter_schemas

TIME_FILTERS = ("CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter", "LastModifiedTimeBefore")


class ListFilters(BaseModel):
    """The list's members as query parameters; the SageMaker model validates their values."""

    NameContains: str | None = None
    StatusEquals: str | None = None
    CreationTimeAfter: str | None = None
    CreationTimeBefore: str | None = None
    LastModifiedTimeAfter: str | None = None
    LastModifiedTimeBefore: str | None = None
    SortBy: str | None = None
    SortOrder: str | None = None
    MaxResults: int | None = None
    NextToken: str | None = None


def documented(request_shape: str) -> dict[str, Any]:
    """The route's OpenAPI parameters: each as the operation's model constrains it; times either way."""
    return parameter_schemas(
        **{name: MODEL.member(request_shape, name) for name in ListFilters.model_fields}
        | {name: EPOCH_OR_ISO_8601 for name in TIME_FILTERS}
    )


def members(filters: ListFilters) -> dict[str, Any]:
    """The given parameters as the operation's members, still to validate."""
    given = filters.model_dump(exclude_none=True)
    return given | {k: epoch_or_text(given[k]) for k in TIME_FILTERS if k in given}


def epoch_or_text(value: str) -> float | str:
    """A query string carries epoch seconds as text; the validator reads numbers as epoch seconds."""
    try:
        return float(value)
    except ValueError:
        return value
