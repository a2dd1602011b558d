"""hypothesis over every operation of the AWS JSON protocol: bodies the model allows, hostile JSON and
bytes that are no JSON at all. Whatever arrives, the answer is the protocol's own: 200 with a JSON object,
or a 4xx `{"__type", "message"}` with `x-amzn-ErrorType`, never a 5xx, never another shape. Requests are
signed with the root key; the scheduler never runs, so a created job starts nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.aws.operations import HANDLERS
from app.config import Settings
from tests.conftest import idle_app
from tests.support.botocore_strategies import hostile_json, request_body

AWS_JSON = "application/x-amz-json-1.1"
EXAMPLES = 40
OPERATIONS = sorted(HANDLERS)

_FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with idle_app(Settings(data_dir=tmp_path_factory.mktemp("aws-fuzz") / "data")) as client:
        yield client


def call(api: TestClient, operation: str, body: bytes) -> None:
    headers = {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": AWS_JSON}
    response = api.post("/", content=body, headers=headers)
    assert response.status_code < 500, (operation, body[:300], response.text)
    answer = response.json()
    assert isinstance(answer, dict), response.text
    if response.status_code != 200:
        assert set(answer) == {"__type", "message"}, response.text
        assert response.headers["x-amzn-errortype"] == answer["__type"]
        assert 400 <= response.status_code < 500


def _encoded(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_model_shaped_bodies_get_a_protocol_answer(api: TestClient, operation: str) -> None:
    @_FUZZ
    @given(request_body(operation))
    def check(body: dict[str, Any]) -> None:
        call(api, operation, _encoded(body))

    check()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_hostile_json_gets_a_protocol_answer(api: TestClient, operation: str) -> None:
    @_FUZZ
    @given(hostile_json())
    def check(document: Any) -> None:
        call(api, operation, _encoded(document))

    check()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_bytes_that_are_no_json_get_a_protocol_answer(api: TestClient, operation: str) -> None:
    @_FUZZ
    @given(st.binary(max_size=256) | st.text(max_size=64).map(lambda t: ('{"a": "' + t).encode()))
    def check(body: bytes) -> None:
        call(api, operation, body)

    check()
