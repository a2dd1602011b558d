"""Failed console sign-ins through the real ASGI app: after a few, 429 with Retry-After, per client and
per access key, before the secret is checked, the same whether or not the key exists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.console.signin_limits import BURST
from tests.api.test_console import browser
from tests.conftest import idle_app
from tests.support.callers import ROOT, USER, client_as, secret_of


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with idle_app(settings) as client:
        client_as(client, USER)  # registers its key
        yield client


def _from(api: TestClient, address: str) -> TestClient:
    """A browser at another client address."""
    return TestClient(api.app, base_url=str(api.base_url), client=(address, 5000), follow_redirects=False)


def _attempt(client: TestClient, key: str, secret: str) -> tuple[int, str | None]:
    response = client.post("/console/sign-in", data={"access_key_id": key, "secret_access_key": secret})
    return response.status_code, response.headers.get("retry-after")


def test_repeated_failures_for_one_key_are_refused_even_with_the_right_secret(app_client: TestClient) -> None:
    client = browser(app_client)
    assert [_attempt(client, ROOT.access_key_id, "wrong")[0] for _ in range(BURST)] == [401] * BURST
    status, retry_after = _attempt(client, ROOT.access_key_id, secret_of(ROOT))
    assert status == 429 and retry_after is not None and int(retry_after) >= 1
    assert (
        "set-cookie"
        not in client.post(
            "/console/sign-in",
            data={"access_key_id": ROOT.access_key_id, "secret_access_key": secret_of(ROOT)},
        ).headers
    )
    # Another key from another client is not held up by them.
    assert _attempt(_from(app_client, "10.0.0.9"), USER.access_key_id, secret_of(USER))[0] == 303


def test_one_client_guessing_many_keys_is_refused(app_client: TestClient) -> None:
    client = browser(app_client)
    for i in range(BURST):
        assert _attempt(client, f"AKIAGUESS{i:011d}", "wrong")[0] == 401
    assert _attempt(client, USER.access_key_id, secret_of(USER))[0] == 429


def test_an_unknown_key_and_a_known_one_are_answered_alike(app_client: TestClient) -> None:
    answers = {}
    for key in (ROOT.access_key_id, "AKIADOESNOTEXIST000"):
        client = _from(app_client, f"10.1.{len(key)}.1")
        seen = [_attempt(client, key, "wrong") for _ in range(BURST + 1)]
        answers[key] = [status for status, _ in seen]
    assert answers[ROOT.access_key_id] == answers["AKIADOESNOTEXIST000"] == [401] * BURST + [429]


def test_successful_sign_ins_are_not_counted(app_client: TestClient) -> None:
    client = browser(app_client)
    for _ in range(BURST + 2):
        assert _attempt(client, ROOT.access_key_id, secret_of(ROOT))[0] == 303
