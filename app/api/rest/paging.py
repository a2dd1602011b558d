"""`MaxResults` and `NextToken` on every REST list, as SageMaker's list operations take them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from app.wire.pages import DEFAULT_MAX_RESULTS, MAX_RESULTS_LIMIT, Page, PageRequest

# Tokens we issue are far shorter; the bound keeps a hostile one from costing anything to refuse.
MAX_TOKEN_LENGTH = 8192


async def _page_request(
    MaxResults: Annotated[  # SageMaker's names, as the query spells them
        int, Query(ge=1, le=MAX_RESULTS_LIMIT, description="Items per page")
    ] = DEFAULT_MAX_RESULTS,
    NextToken: Annotated[
        str | None, Query(min_length=1, max_length=MAX_TOKEN_LENGTH, description="From the previous page")
    ] = None,
) -> PageRequest:
    return PageRequest(max_results=MaxResults, next_token=NextToken)


PageDep = Annotated[PageRequest, Depends(_page_request)]


def listing(name: str, page: Page[Any], items: list[Any]) -> dict[str, Any]:
    """`{name: items}`, with `NextToken` only when another page follows (as SageMaker answers)."""
    body: dict[str, Any] = {name: items}
    if page.next_token is not None:
        body["NextToken"] = page.next_token
    return body
