"""STS and IAM through the Query protocol, driven by real boto3 `sts` and `iam` clients over the real
ASGI app: XML answers botocore parses, XML errors it raises as ClientError (never ResponseParserError)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from app.config import Settings
from tests.conftest import create_request, idle_app
from tests.support import botocore_asgi
from tests.support.callers import DEFAULT_ACCOUNT, OTHER, OTHER_ACCOUNT, ROOT, client_as
from tests.support.server import ROOT_KEY

ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/service-role/SageMakerRole"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    with idle_app(settings, clock=clock) as client:
        yield client


def code_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_get_caller_identity_names_the_account_and_its_user(api: TestClient) -> None:
    found = botocore_asgi.client(api, "sts").get_caller_identity()
    assert found["Account"] == DEFAULT_ACCOUNT
    assert found["Arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/default"
    assert found["UserId"] == ROOT_KEY
    assert found["ResponseMetadata"]["RequestId"]


def test_another_accounts_key_gets_its_own_account(api: TestClient) -> None:
    client_as(api, OTHER)  # registers the key
    sts = botocore_asgi.client(api, "sts", key=OTHER.access_key_id, secret=f"secret-of-{OTHER.access_key_id}")
    assert sts.get_caller_identity()["Account"] == OTHER_ACCOUNT


def test_assume_role_issues_session_credentials_that_sign_as_the_role(api: TestClient, clock: Clock) -> None:
    assumed = botocore_asgi.client(api, "sts").assume_role(
        RoleArn=ROLE, RoleSessionName="nightly", DurationSeconds=900
    )
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    expected = clock.now + dt.timedelta(seconds=900)
    assert credentials["Expiration"] == pytest.approx(expected, abs=dt.timedelta(seconds=1))
    role_arn = f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/SageMakerRole/nightly"
    assert assumed["AssumedRoleUser"]["Arn"] == role_arn
    session = botocore_asgi.client(
        api,
        "sts",
        key=credentials["AccessKeyId"],
        secret=credentials["SecretAccessKey"],
        token=credentials["SessionToken"],
    )
    identity = session.get_caller_identity()
    assert identity["Arn"] == role_arn
    assert identity["UserId"] == assumed["AssumedRoleUser"]["AssumedRoleId"]
    assert identity["UserId"].startswith("AROA") and identity["UserId"].endswith(":nightly")
    clock.now += dt.timedelta(seconds=901)
    with pytest.raises(ClientError) as raised:
        session.get_caller_identity()
    assert code_of(raised) == ("InvalidClientTokenId", 403)


def test_assumed_role_keys_are_not_listed_as_long_lived(api: TestClient) -> None:
    botocore_asgi.client(api, "sts").assume_role(RoleArn=ROLE, RoleSessionName="s1")
    keys = api.app.state.services.identities.list_access_keys(DEFAULT_ACCOUNT)  # type: ignore[attr-defined]
    assert all(key.access_key_id.startswith("AKIA") or key.access_key_id == ROOT_KEY for key in keys.items)


def test_another_accounts_role_cannot_be_assumed(api: TestClient) -> None:
    with pytest.raises(ClientError) as raised:
        botocore_asgi.client(api, "sts").assume_role(
            RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/Theirs", RoleSessionName="s1"
        )
    assert code_of(raised) == ("AccessDenied", 403)


def test_assume_role_parameters_are_checked_against_the_model(api: TestClient) -> None:
    sts = botocore_asgi.client(api, "sts", validate=False)
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=ROLE, RoleSessionName="s1", DurationSeconds=60)
    assert code_of(raised) == ("ValidationError", 400)
    assert "'durationSeconds' failed to satisfy constraint" in str(raised.value)
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn="not-an-arn", RoleSessionName="s1")
    assert code_of(raised) == ("ValidationError", 400)


def test_a_jobs_credentials_are_its_roles_sagemaker_session(api: TestClient) -> None:
    services: Any = api.app.state.services  # type: ignore[attr-defined]
    services.jobs.create(create_request("j1", RoleArn=ROLE), caller=ROOT)
    credentials = services.identities.issue_job_credentials(DEFAULT_ACCOUNT, "j1", ttl=dt.timedelta(hours=1))
    sts = botocore_asgi.client(
        api,
        "sts",
        key=credentials.access_key_id,
        secret=credentials.secret_access_key,
        token=credentials.session_token,
    )
    found = sts.get_caller_identity()
    assert found["Arn"] == f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/SageMakerRole/SageMaker"


def test_get_role_makes_any_name_a_stable_role_of_the_account(api: TestClient) -> None:
    iam = botocore_asgi.client(api, "iam")
    first, again = iam.get_role(RoleName="Trainer")["Role"], iam.get_role(RoleName="Trainer")["Role"]
    assert first["Arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/Trainer"
    assert first["Path"] == "/" and first["RoleName"] == "Trainer"
    assert first["RoleId"] == again["RoleId"] and first["RoleId"].startswith("AROA")
    assert first["CreateDate"] == again["CreateDate"]
    # botocore decodes IAM's URL-encoded policy documents
    trust = first["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert iam.get_role(RoleName="Other")["Role"]["RoleId"] != first["RoleId"]


def test_simulate_principal_policy_allows_the_accounts_own_principals_only(api: TestClient) -> None:
    iam = botocore_asgi.client(api, "iam")
    actions = ["sagemaker:CreateTrainingJob", "s3:GetObject"]
    own = iam.simulate_principal_policy(PolicySourceArn=ROLE, ActionNames=actions)["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in own] == [(a, "allowed") for a in actions]
    theirs = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/Theirs",
        ActionNames=actions,
        ResourceArns=["arn:aws:s3:::b/k"],
    )["EvaluationResults"]
    decisions = [(r["EvalResourceName"], r["EvalDecision"]) for r in theirs]
    assert decisions == [("arn:aws:s3:::b/k", "implicitDeny")] * 2


def test_an_unknown_action_is_answered_in_the_services_own_form(api: TestClient) -> None:
    iam = botocore_asgi.client(api, "iam")
    with pytest.raises(ClientError) as raised:
        iam.list_roles()
    assert code_of(raised) == ("InvalidAction", 400)


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [(ROOT_KEY, "wrong", "SignatureDoesNotMatch"), ("AKIAUNKNOWN0000000000", "x", "InvalidClientTokenId")],
)
def test_refusals_are_query_xml_errors(api: TestClient, key: str, secret: str, code: str) -> None:
    for service in ("sts", "iam"):
        client = botocore_asgi.client(api, service, key=key, secret=secret)
        with pytest.raises(ClientError) as raised:
            client.get_caller_identity() if service == "sts" else client.get_role(RoleName="r")
        assert code_of(raised) == (code, 403)


def test_an_unsigned_form_post_is_refused_in_xml(api: TestClient) -> None:
    answer = api.post(
        "/",
        content=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        auth=None,
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/xml")
    assert b"<Code>MissingAuthenticationToken</Code>" in answer.content
    assert b"<Type>Sender</Type>" in answer.content
