"""The console's tuning pages through the real ASGI app (the tuner driven by hand, trials ended with the
tuner tests' `finish`): the list with counters and best objective, a tuning job's trials with the best
highlighted and the objective chart's data, stop with its CSRF token, and another account seeing nothing."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient

from app.services import Services
from tests.api.test_console import signed_in
from tests.integration.test_tuner import finish, tuning_request
from tests.support.callers import OTHER, client_as


def _services(api: TestClient) -> Services:
    services: Services = api.app.state.services  # type: ignore[attr-defined]
    return services


def _tuning_with_two_ended_trials(api: TestClient, name: str) -> list[str]:
    """A tuning job (at most 2 trials at a time) whose first two trials reported 0.7 then 0.3."""
    assert api.post("/v1/tuning-jobs", json=tuning_request(name)).status_code == 201
    _services(api).tuner.run_until_idle()
    trials = api.get(f"/v1/tuning-jobs/{name}/training-jobs", params={"SortBy": "CreationTime"}).json()
    names = sorted(t["TrainingJobName"] for t in trials["TrainingJobSummaries"])
    finish(_services(api), names[0], loss=0.7)
    finish(_services(api), names[1], loss=0.3)
    _services(api).tuner.run_until_idle()
    return names


def _chart(page: str) -> dict[str, Any]:
    found = re.search(r"data-objectives='([^']*)'", page)
    assert found, page
    chart: dict[str, Any] = json.loads(unescape(found.group(1)))
    return chart


def test_the_list_shows_status_strategy_counters_and_best_objective(api: TestClient) -> None:
    _tuning_with_two_ended_trials(api, "search")
    client, _ = signed_in(api)
    listed = client.get("/console/tuning").text
    row = re.search(r'<tr data-tuning="search">(.*?)</tr>', listed, re.S)
    assert row, listed
    assert 'data-status="InProgress"' in row.group(1) and "Random" in row.group(1)
    assert re.search(r"<td data-counters>2 · 2 · 0 · 0 / 4</td>", row.group(1)), row.group(1)
    assert "<td data-best-objective>0.3</td>" in row.group(1)
    assert 'href="/console/tuning"' in listed  # the nav links here
    assert 'data-tuning="search"' in client.get("/console/tuning/rows").text
    assert 'data-tuning="search"' not in client.get("/console/tuning", params={"status": "Completed"}).text
    assert client.get("/console/tuning", params={"status": "Bogus"}).status_code == 400


def test_a_tuning_job_shows_its_trials_best_and_objective_chart(api: TestClient) -> None:
    first, second = _tuning_with_two_ended_trials(api, "search")
    client, _ = signed_in(api)
    page = client.get("/console/tuning-job/search").text
    rows = re.findall(r'<tr data-trial="([^"]+)"( class="best" data-best="true")?>', page)
    assert [name for name, _ in rows][:2] == [first, second] and len(rows) == 4
    assert [name for name, best in rows if best] == [second]
    assert f'href="/console/job/{first}"' in page and "learning_rate=" in page
    chart = _chart(page)
    assert chart["metric"] == "validation:loss" and chart["trial"] == [1, 2, 3, 4]
    assert chart["objective"][:2] == [0.7, 0.3] and chart["best"][:2] == [0.7, 0.3]
    assert chart["objective"][2:] == [None, None] and chart["best"][2:] == [0.3, 0.3]
    assert 'hx-get="/console/tuning-job/search/live"' in page  # live while it runs
    live = client.get("/console/tuning-job/search/live").text
    assert '<div id="tuning-live"' in live and "<html" not in live  # the fragment alone


def test_stop_needs_the_csrf_token_and_stops(api: TestClient) -> None:
    _tuning_with_two_ended_trials(api, "search")
    client, csrf = signed_in(api)
    assert client.post("/console/tuning-job/search/stop").status_code == 403
    assert api.get("/v1/tuning-jobs/search").json()["HyperParameterTuningJobStatus"] == "InProgress"
    stopped = client.post(
        "/console/tuning-job/search/stop", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert stopped.status_code == 200, stopped.text
    assert 'data-status="Stopping"' in stopped.text and "Stop tuning job" not in stopped.text
    again = client.post(
        "/console/tuning-job/search/stop", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert again.status_code == 400 and "cannot be stopped" in again.text


def test_another_accounts_tuning_job_is_invisible(api: TestClient) -> None:
    _tuning_with_two_ended_trials(api, "search")
    client_as(api, OTHER)  # registers its key
    theirs, csrf = signed_in(api, OTHER)
    assert 'data-tuning="' not in theirs.get("/console/tuning").text
    assert theirs.get("/console/tuning-job/search").status_code == 404
    assert theirs.post("/console/tuning-job/search/stop", headers={"X-CSRF-Token": csrf}).status_code == 404
    assert api.get("/v1/tuning-jobs/search").json()["HyperParameterTuningJobStatus"] == "InProgress"
