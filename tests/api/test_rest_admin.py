"""`/v1/admin/...` through the ASGI app: shapes, status codes, secrets shown once, admins only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.auth.caller import Caller
from app.config import Settings
from app.services import Services
from tests.support.signed_app import signed_app, signed_as

ROOT = signed_as("test", "test")  # the loopback default root key, an admin key


@pytest.fixture
def admin_api(settings: Settings) -> Iterator[tuple[TestClient, Services]]:
    with signed_app(settings) as running:
        yield running


@pytest.fixture
def api_client(admin_api: tuple[TestClient, Services]) -> TestClient:
    return admin_api[0]


def _create_account(client: TestClient, name: str) -> dict[str, str]:
    response = client.post("/v1/admin/accounts", json={"name": name}, auth=ROOT)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def test_create_account_returns_the_account_and_its_first_key_once(api_client: TestClient) -> None:
    created = _create_account(api_client, "team-a")
    assert list(created) == ["AccountId", "Name", "AccessKeyId", "SecretAccessKey"]
    assert created["Name"] == "team-a" and len(created["AccountId"]) == 12
    assert created["AccessKeyId"].startswith("AKIA") and len(created["SecretAccessKey"]) == 40
    accounts = api_client.get("/v1/admin/accounts", auth=ROOT).json()["Accounts"]
    assert [(a["AccountId"], a["Name"]) for a in accounts] == [
        ("123456789012", "default"),
        (created["AccountId"], "team-a"),
    ]
    assert dt.datetime.fromisoformat(accounts[1]["CreateDate"]).tzinfo is not None


def test_keys_are_created_listed_without_secrets_and_revoked(admin_api: tuple[TestClient, Services]) -> None:
    client, services = admin_api
    account = _create_account(client, "team-a")
    path = f"/v1/admin/accounts/{account['AccountId']}/keys"
    second = client.post(path, auth=ROOT)
    assert second.status_code == 201
    assert list(second.json()) == ["AccessKeyId", "SecretAccessKey", "AccountId"]
    admin = client.post(path, json={"admin": True}, auth=ROOT).json()
    listed = client.get(path, auth=ROOT)
    assert [(k["AccessKeyId"], k["Status"], k["Admin"]) for k in listed.json()["AccessKeyMetadata"]] == [
        (account["AccessKeyId"], "Active", False),
        (second.json()["AccessKeyId"], "Active", False),
        (admin["AccessKeyId"], "Active", True),
    ]
    every = client.get("/v1/admin/keys", auth=ROOT).text
    for secret in (account["SecretAccessKey"], second.json()["SecretAccessKey"], admin["SecretAccessKey"]):
        assert secret not in listed.text and secret not in every
    revoked = client.delete(f"/v1/admin/keys/{second.json()['AccessKeyId']}", auth=ROOT)
    assert (revoked.status_code, revoked.content) == (204, b"")
    assert services.identities.lookup(second.json()["AccessKeyId"]) is None
    statuses = client.get(f"/v1/admin/keys?account={account['AccountId']}", auth=ROOT).json()
    assert [k["Status"] for k in statuses["AccessKeyMetadata"]] == ["Active", "Inactive", "Active"]


def test_a_new_admin_key_can_administer(api_client: TestClient) -> None:
    account = _create_account(api_client, "ops")
    path = f"/v1/admin/accounts/{account['AccountId']}/keys"
    admin = api_client.post(path, json={"admin": True}, auth=ROOT).json()
    assert (
        api_client.get(
            "/v1/admin/accounts", auth=signed_as(admin["AccessKeyId"], admin["SecretAccessKey"])
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/admin/accounts"),
        ("GET", "/v1/admin/accounts"),
        ("POST", "/v1/admin/accounts/123456789012/keys"),
        ("GET", "/v1/admin/accounts/123456789012/keys"),
        ("GET", "/v1/admin/keys"),
        ("DELETE", "/v1/admin/keys/test"),
        ("GET", "/v1/admin/audit"),
    ],
)
def test_every_route_refuses_a_non_admin_with_403_and_changes_nothing(
    admin_api: tuple[TestClient, Services], method: str, path: str
) -> None:
    client, services = admin_api
    user = _create_account(client, "team-a")
    response = client.request(
        method, path, json={"name": "intruder"}, auth=signed_as(user["AccessKeyId"], user["SecretAccessKey"])
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "AccessDeniedException"
    assert [a.name for a in services.identities.list_accounts()] == ["default", "team-a"]
    assert services.identities.lookup("test") is not None


def test_unknown_and_malformed_ids_answer_problem_json(api_client: TestClient) -> None:
    unknown_account = api_client.post("/v1/admin/accounts/000000000000/keys", auth=ROOT)
    assert (unknown_account.status_code, unknown_account.json()["code"]) == (404, "ValidationException")
    assert api_client.delete("/v1/admin/keys/AKIANOSUCHKEY", auth=ROOT).status_code == 404
    assert api_client.get("/v1/admin/accounts/12345/keys", auth=ROOT).status_code == 400
    assert api_client.post("/v1/admin/accounts", json={}, auth=ROOT).status_code == 400
    bad_name = api_client.post("/v1/admin/accounts", json={"name": "a b"}, auth=ROOT)
    assert (bad_name.status_code, bad_name.json()["code"]) == (400, "ValidationException")
    _create_account(api_client, "team-a")
    taken = api_client.post("/v1/admin/accounts", json={"name": "team-a"}, auth=ROOT)
    assert (taken.status_code, taken.json()["code"]) == (409, "ResourceInUse")


def test_audit_lists_events_in_snake_case_with_filters(admin_api: tuple[TestClient, Services]) -> None:
    client, services = admin_api
    alice = Caller(account_id="111111111111", access_key_id="AKIAALICE")
    services.audit.record(caller=alice, operation="CreateTrainingJob", outcome="Success", request_id="r1")
    services.audit.refused(
        operation="DescribeTrainingJob", outcome="UnrecognizedClientException", source_ip="10.1.1.1"
    )
    events = client.get("/v1/admin/audit", auth=ROOT).json()["events"]
    assert len(events) == 2
    assert set(events[0]) == {
        "time",
        "account_id",
        "access_key_id",
        "source_ip",
        "operation",
        "resource",
        "outcome",
        "request_id",
        "count",
    }
    mine = client.get("/v1/admin/audit?account=111111111111&limit=5", auth=ROOT).json()["events"]
    assert [(e["operation"], e["outcome"], e["request_id"]) for e in mine] == [
        ("CreateTrainingJob", "Success", "r1")
    ]
    later = client.get("/v1/admin/audit", params={"since": "2999-01-01T00:00:00Z"}, auth=ROOT)
    assert later.json() == {"events": []}
    assert client.get("/v1/admin/audit?limit=0", auth=ROOT).status_code == 400
