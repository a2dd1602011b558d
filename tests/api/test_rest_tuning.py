"""`/v1/tuning-jobs` over the real ASGI app (its tuner driven by hand; no training job runs): the REST
twins of the tuning operations, problem JSON for what SageMaker refuses, and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from app.services import Services
from tests.api.test_rest import problem
from tests.integration.test_tuner import finish, tuning_request
from tests.support.callers import OTHER, client_as

TUNING = "/v1/tuning-jobs"


def _services(api: TestClient) -> Services:
    services: Services = api.app.state.services  # type: ignore[attr-defined]
    return services


def _create(api: TestClient, name: str) -> dict[str, Any]:
    response = api.post(TUNING, json=tuning_request(name))
    assert response.status_code == 201, response.text
    _services(api).tuner.run_until_idle()
    body: dict[str, Any] = response.json()
    return body


def _trials(api: TestClient, name: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"{TUNING}/{name}/training-jobs", params=params)
    assert response.status_code == 200, response.text
    summaries: list[dict[str, Any]] = response.json()["TrainingJobSummaries"]
    return summaries


def test_create_describe_list_rank_stop_and_delete(api: TestClient) -> None:
    created = _create(api, "rest")
    assert created["HyperParameterTuningJobArn"].endswith(":hyper-parameter-tuning-job/rest")
    described = api.get(f"{TUNING}/rest").json()
    assert described["HyperParameterTuningJobStatus"] == "InProgress"
    dt.datetime.fromisoformat(described["CreationTime"])  # ISO 8601, as every REST timestamp
    listed = api.get(TUNING, params={"NameContains": "res", "StatusEquals": "InProgress"}).json()
    assert [s["HyperParameterTuningJobName"] for s in listed["HyperParameterTuningJobSummaries"]] == ["rest"]

    first, second = _trials(api, "rest", StatusEquals="InProgress")
    finish(_services(api), first["TrainingJobName"], loss=0.7)
    finish(_services(api), second["TrainingJobName"], loss=0.3)
    _services(api).tuner.run_until_idle()
    ranked = _trials(api, "rest", SortBy="FinalObjectiveMetricValue", SortOrder="Descending")
    assert [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in ranked] == [0.7, 0.3]
    assert len(_trials(api, "rest", MaxResults=1)) == 1

    stopped = api.post(f"{TUNING}/rest/stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["HyperParameterTuningJobStatus"] == "Stopping"
    assert api.delete(f"{TUNING}/rest").status_code == 409  # not ended yet
    _services(api).tuner.run_until_idle()
    assert api.get(f"{TUNING}/rest").json()["HyperParameterTuningJobStatus"] == "Stopped"
    problem(api.post(f"{TUNING}/rest/stop"), 400, "ValidationException")
    assert api.delete(f"{TUNING}/rest").status_code == 204
    problem(api.get(f"{TUNING}/rest"), 404, "ValidationException")


def test_refusals_are_problem_json(api: TestClient) -> None:
    request = {**tuning_request("auto"), "Autotune": {"Mode": "Enabled"}}
    assert "Autotune" in problem(api.post(TUNING, json=request), 400, "ValidationException")
    problem(api.post(TUNING, json={"HyperParameterTuningJobName": "x"}), 400, "ValidationException")
    problem(api.get(f"{TUNING}/not_a-valid-name!"), 400, "ValidationException")
    problem(api.get(f"{TUNING}/missing/training-jobs"), 404, "ValidationException")
    problem(api.get(TUNING, params={"SortBy": "Nonsense"}), 400, "ValidationException")
    _create(api, "twice")
    problem(api.post(TUNING, json=tuning_request("twice")), 409, "ResourceInUse")


def test_another_accounts_tuning_job_is_not_found(api: TestClient) -> None:
    _create(api, "mine")
    other = client_as(api, OTHER)
    problem(other.get(f"{TUNING}/mine"), 404, "ValidationException")
    problem(other.post(f"{TUNING}/mine/stop"), 404, "ValidationException")
    problem(other.delete(f"{TUNING}/mine"), 404, "ValidationException")
    assert other.get(TUNING).json()["HyperParameterTuningJobSummaries"] == []


def test_the_openapi_document_names_each_route_and_its_problems(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert set(paths[TUNING]) == {"get", "post"}
    assert set(paths[f"{TUNING}/{{name}}"]) == {"get", "delete"}
    assert "404" in paths[f"{TUNING}/{{name}}"]["get"]["responses"]
    assert "409" in paths[f"{TUNING}/{{name}}"]["delete"]["responses"]
    assert "404" in paths[f"{TUNING}/{{name}}/training-jobs"]["get"]["responses"]
    assert "post" in paths[f"{TUNING}/{{name}}/stop"]
