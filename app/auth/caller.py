"""The authenticated caller of one request: verified once at the edge of a surface, then passed down."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """An account acting through one access key.

    `is_admin` marks operator keys (the administration API, every host's jobs). `job_name` is set for the
    short-lived credentials a training job holds: they act for the job's account and nothing else.
    `role_session` (`<role name>/<session name>`) is set for the temporary credentials of STS AssumeRole.
    """

    account_id: str
    access_key_id: str
    is_admin: bool = False
    job_name: str | None = None
    role_session: str | None = None
