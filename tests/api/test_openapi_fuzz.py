"""schemathesis over every REST operation of our own OpenAPI document, with all of its checks: no 5xx,
every status and body as documented, `Allow` on 405, schema-valid requests accepted and schema-violating
ones refused. Requests are signed (root key); the fake executor sits behind the create routes, so no VM
really starts.

Two inputs the document cannot describe are kept out of the acceptance checks, each for a reason:
- `NextToken`: a token is valid only when the server issued it for the same filters; the fuzzer cannot
  invent one, and any string it makes up is refused (tests/api/test_rest.py checks that refusal);
- the body of `POST /v1/training-jobs`: botocore's CreateTrainingJobRequest is its schema, but SageMaker's
  semantics refuse most schema-valid jobs (an image that is no algorithm, a role of another account, an
  instance type this pool lacks); that create answers 400 for those, never 5xx, and is still checked.
  So does `POST /v1/tuning-jobs`, whose body holds such a job and tuning rules besides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.types import ASGIApp, Receive, Scope, Send

from app.client import sigv4
from app.config import Settings
from app.db import migrate
from app.main import create_app
from app.runtime.fake_executor import FakeExecutor
from app.services import build
from tests.support.callers import DEFAULT_ACCOUNT
from tests.support.signing import signing_app

# Enough to reach every status each operation documents, within about a minute on two cores.
EXAMPLES_PER_OPERATION = 30


class ServedApp:
    """The app under test, created by the module's fixture once its data directory exists; the schema is
    loaded at import (pytest parametrizes from it), from an app that serves the same document.

    Requests are signed with an admin key the fixture makes: the fuzzer revokes keys it can name, and must
    not revoke its own (the well-known root key `test` is a name it may well try)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.key: sigv4.Credentials | None = None

    def credentials(self) -> sigv4.Credentials:
        if self.key is None:
            raise RuntimeError("the fuzzed app is served only inside the module's fixture")
        return self.key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("the fuzzed app is served only inside the module's fixture")
        await self.app(scope, receive, send)


SERVED = ServedApp()
# The document alone, from an app that is never started (starting one would make its data directory).
schema = schemathesis.openapi.from_dict(create_app(Settings(data_dir=Path("never-created"))).openapi())
schema.app = signing_app(SERVED, credentials=SERVED.credentials)


@pytest.fixture(scope="module", autouse=True)
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    data_dir.mkdir(parents=True)
    config = Settings(data_dir=data_dir)
    migrate.upgrade(config.resolved_database_url)
    services = build(config, executor=FakeExecutor())
    services.start()  # a live scheduler: /healthz is healthy, and created jobs run on the fake executor
    app = create_app(config, services=services)
    try:
        with TestClient(app):  # runs the lifespan: the S3 app is attached
            key = services.identities.create_access_key(DEFAULT_ACCOUNT, admin=True)
            SERVED.key = sigv4.Credentials(key.key.access_key_id, key.secret_access_key)
            SERVED.app = app
            yield
    finally:
        SERVED.app, SERVED.key = None, None
        services.close()


SEMANTICALLY_CHECKED = frozenset({("POST", "/v1/training-jobs"), ("POST", "/v1/tuning-jobs")})


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_rest_operation_does_what_the_document_says(case: schemathesis.Case) -> None:
    if case.query and case.meta is not None and case.meta.generation.mode.is_positive:
        case.query.pop("NextToken", None)  # an invented token is refused; a malformed one still is
    excluded = [positive_data_acceptance] if (case.method, case.path) in SEMANTICALLY_CHECKED else []
    case.call_and_validate(excluded_checks=excluded)
