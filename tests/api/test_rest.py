"""The /v1 REST routes for curl and browsers: resource-style JSON, ISO 8601 times, problem-JSON errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.rest.responses import title
from app.clock import FakeClock
from app.config import Settings
from app.runtime import logs
from tests.conftest import create_request, idle_app
from tests.support.callers import OTHER, ROOT, client_as, role_arn

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
JOBS = "/v1/training-jobs"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def rest(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with idle_app(settings, clock=clock) as client:
        yield client


def problem(response: httpx.Response, status: int, code: str) -> str:
    """Assert an RFC 9457 problem response; return its detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["title"] == title(status)
    assert body["type"] == "about:blank"
    detail: str = body["detail"]
    assert detail
    return detail


def created(rest: TestClient, name: str, **overrides: Any) -> dict[str, Any]:
    response = rest.post(JOBS, json=create_request(name, **overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(rest: TestClient, **params: Any) -> list[str]:
    response = rest.get(JOBS, params=params)
    assert response.status_code == 200, response.text
    return [s["TrainingJobName"] for s in response.json()["TrainingJobSummaries"]]


def iso(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no time zone"
    return parsed


def test_create_returns_201_and_the_arn(rest: TestClient) -> None:
    assert created(rest, "job-1") == {
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1"
    }


def test_describe_uses_iso_8601_timestamps(rest: TestClient, clock: FakeClock) -> None:
    created(rest, "job-1")
    response = rest.get(f"{JOBS}/job-1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    job = response.json()
    assert job["TrainingJobName"] == "job-1"
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("InProgress", "Pending")
    assert iso(job["CreationTime"]) == iso(job["LastModifiedTime"]) == START
    assert iso(job["SecondaryStatusTransitions"][0]["StartTime"]) == START
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert job["OutputDataConfig"]["KmsKeyId"] == ""


def test_describe_is_case_insensitive_on_the_name(rest: TestClient) -> None:
    created(rest, "Job-1")
    assert rest.get(f"{JOBS}/JOB-1").json()["TrainingJobName"] == "Job-1"


def test_list_with_filters(rest: TestClient, clock: FakeClock) -> None:
    for name in ("b-job", "a-job", "c-job"):
        created(rest, name)
        clock.advance(60)
    assert rest.post(f"{JOBS}/c-job/stop").status_code == 200
    assert listed(rest) == ["b-job", "a-job", "c-job"]
    assert listed(rest, SortBy="Name") == ["a-job", "b-job", "c-job"]
    assert listed(rest, SortBy="CreationTime", SortOrder="Descending") == ["c-job", "a-job", "b-job"]
    assert listed(rest, StatusEquals="Stopped") == ["c-job"]
    assert listed(rest, StatusEquals="InProgress", SortBy="Name") == ["a-job", "b-job"]
    assert listed(rest, NameContains="A-J") == ["a-job"]
    assert listed(rest, CreationTimeAfter="2026-01-01T00:00:30Z") == ["a-job", "c-job"]
    assert listed(rest, CreationTimeBefore="2026-01-01T00:01:00+00:00") == ["b-job"]
    assert listed(rest, CreationTimeAfter=str(START.timestamp() + 90)) == ["c-job"]
    assert listed(rest, CreationTimeBefore=str(int(START.timestamp()) + 1)) == ["b-job"]
    problem(rest.get(JOBS, params={"CreationTimeAfter": "1e400"}), 400, "SerializationException")
    # The last instant of year 9999 is a time to filter by; the first of year 10000 is none.
    assert listed(rest, CreationTimeBefore="253402300799.99997") == ["b-job", "a-job", "c-job"]
    problem(rest.get(JOBS, params={"CreationTimeAfter": "253402300800"}), 400, "SerializationException")
    assert listed(rest, LastModifiedTimeAfter="2026-01-01T00:02:30Z") == ["c-job"]
    assert listed(rest, LastModifiedTimeBefore="2026-01-01T00:02:30Z") == ["b-job", "a-job"]
    summary = rest.get(JOBS, params={"StatusEquals": "Stopped"}).json()["TrainingJobSummaries"][0]
    assert iso(summary["CreationTime"]) == START + dt.timedelta(seconds=120)
    assert iso(summary["TrainingEndTime"]) == START + dt.timedelta(seconds=180)


def test_list_pages_through_every_job_once(rest: TestClient) -> None:
    names = [f"job-{i:02d}" for i in range(12)]
    for name in names:
        created(rest, name)
    seen: list[str] = []
    params: dict[str, Any] = {"MaxResults": 5, "SortBy": "Name", "SortOrder": "Descending"}
    for _ in range(10):
        page = rest.get(JOBS, params=params).json()
        seen += [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
        if "NextToken" not in page:
            break
        params["NextToken"] = page["NextToken"]
    assert seen == names[::-1]


def test_list_refuses_bad_queries(rest: TestClient) -> None:
    problem(rest.get(JOBS, params={"MaxResults": "many"}), 400, "ValidationException")
    detail = problem(rest.get(JOBS, params={"MaxResults": 0}), 400, "ValidationException")
    assert "Member must have value greater than or equal to 1" in detail
    detail = problem(rest.get(JOBS, params={"StatusEquals": "Running"}), 400, "ValidationException")
    assert "Member must satisfy enum value set" in detail
    problem(rest.get(JOBS, params={"CreationTimeAfter": "yesterday"}), 400, "SerializationException")
    problem(rest.get(JOBS, params={"MaxResults": 10**30}), 400, "SerializationException")
    detail = problem(rest.get(JOBS, params={"NextToken": "garbage"}), 400, "ValidationException")
    assert detail == "Invalid pagination token"


def test_stop_returns_the_job_as_it_stands(rest: TestClient, clock: FakeClock) -> None:
    created(rest, "job-1")
    clock.advance(5)
    response = rest.post(f"{JOBS}/job-1/stop")
    assert response.status_code == 200
    job = response.json()
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert iso(job["TrainingEndTime"]) == START + dt.timedelta(seconds=5)
    detail = problem(rest.post(f"{JOBS}/job-1/stop"), 400, "ValidationException")
    assert detail == "The training job job-1 cannot be stopped: its status is Stopped."


def test_delete_returns_204_and_the_job_is_gone(rest: TestClient) -> None:
    created(rest, "job-1")
    rest.post(f"{JOBS}/job-1/stop")
    response = rest.delete(f"{JOBS}/job-1")
    assert response.status_code == 204
    assert response.content == b""
    problem(rest.get(f"{JOBS}/job-1"), 404, "ValidationException")
    assert listed(rest) == []


def test_deleting_a_running_job_is_a_conflict(rest: TestClient) -> None:
    created(rest, "job-1")
    detail = problem(rest.delete(f"{JOBS}/job-1"), 409, "ResourceInUse")
    assert "InProgress" in detail
    assert rest.get(f"{JOBS}/job-1").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", f"{JOBS}/nope"), ("POST", f"{JOBS}/nope/stop"), ("DELETE", f"{JOBS}/nope")],
)
def test_unknown_jobs_are_404_problems(rest: TestClient, method: str, path: str) -> None:
    detail = problem(rest.request(method, path), 404, "ValidationException")
    assert detail == "Requested resource not found."


def test_duplicates_are_409(rest: TestClient) -> None:
    created(rest, "job-1")
    detail = problem(rest.post(JOBS, json=create_request("JOB-1")), 409, "ResourceInUse")
    assert "already exists" in detail


def test_invalid_bodies_are_400_problems(rest: TestClient) -> None:
    request = create_request("job-1")
    del request["RoleArn"]
    detail = problem(rest.post(JOBS, json=request), 400, "ValidationException")
    assert detail == (
        "1 validation error detected: "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    )
    problem(
        rest.post(JOBS, json=create_request("job-1", EnableNetworkIsolation="yes")),
        400,
        "SerializationException",
    )
    # Same codes as on the AWS surface: a body that is not a JSON object is a SerializationException.
    problem(rest.post(JOBS, json=[create_request("job-1")]), 400, "SerializationException")
    malformed = rest.post(JOBS, content=b'{"TrainingJobName": ', headers={"content-type": "application/json"})
    problem(malformed, 400, "SerializationException")
    assert listed(rest) == []


def test_invalid_names_in_the_path_are_400(rest: TestClient) -> None:
    detail = problem(rest.get(f"{JOBS}/bad_name"), 400, "ValidationException")
    assert "at 'trainingJobName' failed to satisfy constraint" in detail
    problem(rest.delete(f"{JOBS}/{'a' * 64}"), 400, "ValidationException")


def test_healthz_is_unhealthy_while_no_scheduler_loop_runs(rest: TestClient) -> None:
    # This app's services are idle (the tests drive the scheduler): nothing would place a job, so 503,
    # and without credentials nothing but the status.
    response = rest.get("/healthz", auth=None)
    assert (response.status_code, response.json()) == (503, {"status": "unhealthy"})


def test_docs_and_openapi_are_served(rest: TestClient) -> None:
    docs = rest.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "swagger" in docs.text.lower()
    spec = rest.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"get", "post"} <= set(paths[JOBS])
    assert {"get", "delete"} <= set(paths[JOBS + "/{name}"])
    assert "post" in paths[JOBS + "/{name}/stop"]
    assert "/healthz" in paths
    assert "/" not in paths, "the AWS endpoint stays out of the REST documentation"


def test_framework_errors_are_problem_json_too(api: TestClient) -> None:
    response = api.get("/v1/no-such-route")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
    wrong_method = api.put("/v1/training-jobs")
    assert wrong_method.status_code == 405 and wrong_method.json()["title"] == "MethodNotAllowed"
    assert wrong_method.headers["allow"] == "GET, POST"


def test_a_405_names_every_method_of_the_path_not_only_the_last_route_s(api: TestClient) -> None:
    # GET and DELETE of a job are two routes; the router alone named only one of them.
    response = api.patch("/v1/training-jobs/some-job")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"


def test_a_missing_job_is_titled_not_found_with_the_aws_code_beside(api: TestClient) -> None:
    body = api.get("/v1/training-jobs/never-created").json()
    assert (body["status"], body["title"], body["code"]) == (404, "NotFound", "ValidationException")


def test_the_openapi_document_types_bodies_and_documents_every_status(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    describe = document["paths"]["/v1/training-jobs/{name}"]["get"]
    ok = describe["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/DescribeTrainingJobResponse"}
    described = document["components"]["schemas"]["DescribeTrainingJobResponse"]
    assert "TrainingJobStatus" in described["required"]
    assert described["properties"]["CreationTime"]["format"] == "date-time"  # REST renders ISO 8601
    assert set(describe["responses"]) == {"200", "400", "401", "403", "404", "429", "503"}
    name = describe["parameters"][0]["schema"]
    assert (name["maxLength"], name["pattern"]) == (63, "^(?:[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)


def test_rest_create_refuses_oversized_and_malformed_bodies(api: TestClient) -> None:
    huge = b'{"TrainingJobName": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = api.post("/v1/training-jobs", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "RequestEntityTooLargeException"
    malformed = api.post(
        "/v1/training-jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["code"] == "SerializationException"


# -- accounts see only their own ---------------------------------------------------------------------


def test_another_accounts_job_is_404_on_every_route(rest: TestClient, settings: Settings) -> None:
    other = client_as(rest, OTHER)
    assert rest.post(JOBS, json=create_request("mine")).status_code == 201
    log = logs.stream_path(
        settings.data_dir, account_id=ROOT.account_id, job_name="mine", host="algo-1", epoch=0
    )
    log.parent.mkdir(parents=True)
    log.write_text("secret line of mine\n")
    assert rest.get(f"{JOBS}/mine/logs").text == "[algo-1] secret line of mine\n"
    assert rest.get(f"{JOBS}/mine/metrics").status_code == 200
    for response in (
        other.get(f"{JOBS}/mine"),
        other.post(f"{JOBS}/mine/stop"),
        other.delete(f"{JOBS}/mine"),
        other.get(f"{JOBS}/mine/logs"),
        other.get(f"{JOBS}/mine/logs", params={"follow": "true"}),
        other.get(f"{JOBS}/mine/metrics"),
    ):
        assert problem(response, 404, "ValidationException") == "Requested resource not found."
    assert other.get(JOBS).json()["TrainingJobSummaries"] == []
    assert rest.get(f"{JOBS}/mine").json()["TrainingJobStatus"] == "InProgress"


def test_a_job_of_the_same_name_in_another_account_has_its_own_logs(
    rest: TestClient, settings: Settings
) -> None:
    other = client_as(rest, OTHER)
    assert rest.post(JOBS, json=create_request("job-a")).status_code == 201
    assert other.post(JOBS, json=create_request("job-a", RoleArn=role_arn(OTHER))).status_code == 201
    for caller, line in ((ROOT, "mine"), (OTHER, "theirs")):
        log = logs.stream_path(
            settings.data_dir, account_id=caller.account_id, job_name="job-a", host="algo-1", epoch=0
        )
        log.parent.mkdir(parents=True)
        log.write_text(f"{line}\n")
    assert rest.get(f"{JOBS}/job-a/logs").text == "[algo-1] mine\n"
    assert other.get(f"{JOBS}/job-a/logs").text == "[algo-1] theirs\n"
    assert [j["TrainingJobArn"] for j in other.get(JOBS).json()["TrainingJobSummaries"]] == [
        f"arn:aws:sagemaker:us-east-1:{OTHER.account_id}:training-job/job-a"
    ]


def test_a_role_of_another_account_is_forbidden(rest: TestClient) -> None:
    response = rest.post(JOBS, json=create_request("job-1", RoleArn=role_arn(OTHER)))
    assert "iam:PassRole" in problem(response, 403, "AccessDeniedException")
    assert rest.get(JOBS).json()["TrainingJobSummaries"] == []
