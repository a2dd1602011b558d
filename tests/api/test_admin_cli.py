"""`sagelite admin ...` end to end in-process: the CLI, `app.client` signing with the environment's key,
and the ASGI app (behind the temporary caller wrapper until the edge verifies signatures)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import cli
from app.cli import common
from app.client import SageMakerClient
from app.config import Settings
from app.services import Services
from tests.support.signed_app import signed_app


@pytest.fixture
def running(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Services]]:
    with signed_app(settings) as (client, services):
        # The CLI's client talks to the in-process app through the test client's transport.
        factory = partial(SageMakerClient, http_transport=client._transport)
        monkeypatch.setattr(common, "SageMakerClient", factory)
        monkeypatch.setenv(common.ENDPOINT_ENV, "http://testserver")
        use_key(monkeypatch, "test", "test")
        yield client, services


def use_key(monkeypatch: pytest.MonkeyPatch, key: str, secret: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert cli.run([*argv, "--output", "json"]) == common.OK
    return json.loads(capsys.readouterr().out)


def test_accounts_and_keys_round_trip(
    running: tuple[TestClient, Services], capsys: pytest.CaptureFixture[str]
) -> None:
    _, services = running
    created = run_json(capsys, "admin", "accounts", "create", "team-a")
    assert set(created) == {"AccountId", "Name", "AccessKeyId", "SecretAccessKey"}
    record = services.identities.lookup(created["AccessKeyId"])
    assert record is not None and record.secret_access_key == created["SecretAccessKey"]
    accounts = run_json(capsys, "admin", "accounts", "list")["Accounts"]
    assert [a["Name"] for a in accounts] == ["default", "team-a"]
    key = run_json(capsys, "admin", "keys", "create", "--account", created["AccountId"], "--admin")
    assert key["AccountId"] == created["AccountId"]
    listed = run_json(capsys, "admin", "keys", "list", "--account", created["AccountId"])
    assert [(k["AccessKeyId"], k["Admin"]) for k in listed["AccessKeyMetadata"]] == [
        (created["AccessKeyId"], False),
        (key["AccessKeyId"], True),
    ]
    assert len(run_json(capsys, "admin", "keys", "list")["AccessKeyMetadata"]) == 3  # with the root key
    run_json(capsys, "admin", "keys", "revoke", key["AccessKeyId"])
    assert services.identities.lookup(key["AccessKeyId"]) is None


def test_tables_show_the_secret_once_with_a_warning_on_stderr(
    running: tuple[TestClient, Services], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.run(["admin", "accounts", "create", "team-a"]) == common.OK
    out, err = capsys.readouterr()
    assert "SecretAccessKey:" in out and "shown only now" in err
    assert cli.run(["admin", "keys", "list"]) == common.OK
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["ACCESS", "KEY", "ACCOUNT", "STATUS", "ADMIN", "CREATED"]
    assert "test" in table and "SecretAccessKey" not in table


def test_audit_lists_events(running: tuple[TestClient, Services], capsys: pytest.CaptureFixture[str]) -> None:
    _, services = running
    services.audit.refused(
        operation="DescribeTrainingJob", outcome="InvalidSignatureException", source_ip="10.2.2.2"
    )
    events = run_json(capsys, "admin", "audit", "--limit", "10")["events"]
    assert [(e["source_ip"], e["count"]) for e in events] == [("10.2.2.2", 1)]
    assert run_json(capsys, "admin", "audit", "--since", "2999-01-01T00:00:00") == {"events": []}
    assert cli.run(["admin", "audit"]) == common.OK
    assert "InvalidSignatureException" in capsys.readouterr().out


def test_a_non_admin_key_is_refused_and_unknown_ids_are_not_found(
    running: tuple[TestClient, Services], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = run_json(capsys, "admin", "accounts", "create", "team-a")
    assert cli.run(["admin", "keys", "revoke", "AKIANOSUCHKEY"]) == common.NOT_FOUND
    assert "does not exist" in capsys.readouterr().err
    use_key(monkeypatch, created["AccessKeyId"], created["SecretAccessKey"])
    assert cli.run(["admin", "accounts", "list"]) == common.REFUSED
    assert "AccessDeniedException" in capsys.readouterr().err
