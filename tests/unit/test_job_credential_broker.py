"""The job credentials broker: a token per running job, served until the job ends or they expire."""

from __future__ import annotations

import datetime as dt

from app.auth.identities import TemporaryCredentials
from app.auth.job_credentials import JobCredentialBroker

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Issuer:
    def __init__(self) -> None:
        self.revoked: list[tuple[str, str]] = []

    def issue_job_credentials(
        self, account_id: str, job_name: str, *, ttl: dt.timedelta
    ) -> TemporaryCredentials:
        return TemporaryCredentials(f"ASIA{job_name.upper()}", "secret", "token", T0 + ttl)

    def revoke_job_credentials(self, job_name: str, *, account_id: str) -> int:
        self.revoked.append((account_id, job_name))
        return 1


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _broker() -> tuple[JobCredentialBroker, Issuer, Clock]:
    issuer, clock = Issuer(), Clock()
    broker = JobCredentialBroker(
        issuer=issuer, endpoint_url="http://127.0.0.1:8000/", region="eu-west-1", clock=clock
    )
    return broker, issuer, clock


def test_a_grant_gives_the_vms_botocores_container_variables() -> None:
    broker, _, _ = _broker()
    env = broker.grant(account_id="111111111111", job_name="a", ttl=dt.timedelta(hours=1))
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://127.0.0.1:8000/v1/job-credentials"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:8000"
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "eu-west-1"
    assert len(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) >= 40
    assert not any("SECRET" in name or name == "AWS_ACCESS_KEY_ID" for name in env)
    served = broker.credentials(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
    assert served is not None and served.access_key_id == "ASIAA"
    assert broker.credentials("not-the-token") is None


def test_revoking_ends_the_token_and_the_keys_of_that_job_only() -> None:
    broker, issuer, _ = _broker()
    a = broker.grant(account_id="111111111111", job_name="a", ttl=dt.timedelta(hours=1))
    b = broker.grant(account_id="222222222222", job_name="b", ttl=dt.timedelta(hours=1))
    broker.revoke(account_id="111111111111", job_name="a")
    assert broker.credentials(a["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) is None
    assert broker.credentials(b["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) is not None
    assert issuer.revoked == [("111111111111", "a")]


def test_expired_credentials_are_not_served() -> None:
    broker, _, clock = _broker()
    env = broker.grant(account_id="111111111111", job_name="a", ttl=dt.timedelta(minutes=5))
    clock.now = T0 + dt.timedelta(minutes=5)
    assert broker.credentials(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) is None
