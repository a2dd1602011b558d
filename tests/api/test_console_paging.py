"""The jobs page paged both ways through the real ASGI app: next and previous links are keyset tokens,
so a page keeps its jobs while new ones are created, and walking back reaches the newest."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.clock import FakeClock
from app.config import Settings
from app.console.jobs_routes import PAGE_SIZE
from tests.api.test_console import make_job, signed_in
from tests.conftest import idle_app

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def app_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with idle_app(settings, clock=clock) as client:
        yield client


def _create(api: TestClient, clock: FakeClock, names: list[str]) -> None:
    for name in names:
        clock.advance(1)
        make_job(api, name)


def _page(client: TestClient, query: str) -> tuple[list[str], dict[str, str]]:
    """The page's job names (newest first) and its pager links by rel."""
    text = client.get("/console/jobs" + query).text
    links = dict(re.findall(r'<a rel="(next|prev)" href="/console/jobs(\?[^"]*)"', text))
    return re.findall(r'data-job="([^"]+)"', text), {k: v.replace("&amp;", "&") for k, v in links.items()}


def test_previous_goes_back_to_the_same_page_while_jobs_are_created(
    app_client: TestClient, clock: FakeClock
) -> None:
    older = [f"job-{i:03d}" for i in range(2 * PAGE_SIZE + 5)]
    _create(app_client, clock, older)
    client, _ = signed_in(app_client)
    newest_first = older[::-1]

    first, links = _page(client, "")
    assert first == newest_first[:PAGE_SIZE] and "prev" not in links
    second, links = _page(client, links["next"])
    assert second == newest_first[PAGE_SIZE : 2 * PAGE_SIZE]
    third, third_links = _page(client, links["next"])
    assert third == newest_first[2 * PAGE_SIZE :] and "next" not in third_links

    _create(app_client, clock, ["new-1", "new-2", "new-3"])  # land on top of the first page
    back, links = _page(client, third_links["prev"])
    assert back == second  # the page before the third is still the second, new jobs or not
    back, links = _page(client, links["prev"])
    assert back == first  # anchored on the second page's first job: the same 50
    newest, links = _page(client, links["prev"])
    assert newest == ["new-3", "new-2", "new-1", *first[: PAGE_SIZE - 3]]
    assert "prev" not in links  # the first page


def test_previous_keeps_the_filters_and_sort(app_client: TestClient, clock: FakeClock) -> None:
    _create(app_client, clock, [f"a-{i:03d}" for i in range(PAGE_SIZE + 2)] + ["b-1"])
    client, _ = signed_in(app_client)
    first, links = _page(client, "?name=a-&sort=Name&order=Ascending")
    second, links = _page(client, links["next"])
    assert second == ["a-050", "a-051"]
    assert _page(client, links["prev"])[0] == first == [f"a-{i:03d}" for i in range(PAGE_SIZE)]
