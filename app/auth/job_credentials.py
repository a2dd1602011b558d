"""Each running job's short-lived credentials, served the way SageMaker and ECS serve a task's role.

A job never holds a long-lived secret. When its VMs start, the broker issues session credentials for the
job's account (an `ASIA…` key with a session token) and hands the VMs two variables botocore's default
credential chain reads, `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`,
plus `AWS_ENDPOINT_URL` so that boto3 in the training code talks to this server. The endpoint answers the
token's holder with the credentials; when the job ends both the token and the key are revoked.

Grants live in memory: a job's VMs never outlive the server (recovery kills them), and recovery revokes
every temporary key a previous process issued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

from app.auth.identities import TemporaryCredentials
from app.clock import Clock

PATH = "/v1/job-credentials"


class CredentialIssuer(Protocol):
    def issue_job_credentials(
        self, account_id: str, job_name: str, *, ttl: dt.timedelta
    ) -> TemporaryCredentials: ...

    def revoke_job_credentials(self, job_name: str, *, account_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class _Grant:
    account_id: str
    job_name: str
    credentials: TemporaryCredentials


class JobCredentialBroker:
    """Issues, serves and revokes the credentials of running jobs."""

    def __init__(self, *, issuer: CredentialIssuer, endpoint_url: str, region: str, clock: Clock) -> None:
        self._issuer = issuer
        self._endpoint_url = endpoint_url.rstrip("/")
        self._region = region
        self._clock = clock
        self._lock = threading.Lock()
        # Keyed by the token's digest: the tokens themselves are never kept.
        self._grants: dict[bytes, _Grant] = {}

    def grant(self, *, account_id: str, job_name: str, ttl: dt.timedelta) -> dict[str, str]:
        """Credentials for the job, and the environment its VMs find them through."""
        credentials = self._issuer.issue_job_credentials(account_id, job_name, ttl=ttl)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._grants[_digest(token)] = _Grant(account_id, job_name, credentials)
        return {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{self._endpoint_url}{PATH}",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
            "AWS_ENDPOINT_URL": self._endpoint_url,
            "AWS_DEFAULT_REGION": self._region,
            "AWS_REGION": self._region,
        }

    def revoke(self, *, account_id: str, job_name: str) -> None:
        """End the job's grant: its token stops working and its keys stop verifying."""
        with self._lock:
            for digest, grant in list(self._grants.items()):
                if grant.account_id == account_id and grant.job_name == job_name:
                    del self._grants[digest]
        self._issuer.revoke_job_credentials(job_name, account_id=account_id)

    def credentials(self, token: str) -> TemporaryCredentials | None:
        """The credentials the token was issued with, while they are valid."""
        with self._lock:
            grant = self._grants.get(_digest(token))
        if grant is None or grant.credentials.expiration <= self._clock():
            return None
        return grant.credentials


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
