"""A claimed job as the scheduler hands it to the supervisor, and the credentials a run asks for."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from app.hosts.vms import VmPlan
from app.jobs.spec import TrainingJobSpec


@dataclass(frozen=True, slots=True)
class JobPlan:
    """A claimed job: its spec and the VMs reserved for it."""

    job_id: int
    job_name: str
    job_arn: str
    spec: TrainingJobSpec
    vms: tuple[VmPlan, ...]

    @property
    def account_id(self) -> str:
        """The job's account: it owns the buckets the run creates, and its credentials act for it."""
        return self.spec.account_id


class JobCredentials(Protocol):
    """Short-lived credentials for a running job's own account (see `app.auth.job_credentials`)."""

    def grant(self, *, account_id: str, job_name: str, ttl: dt.timedelta) -> dict[str, str]:
        """Issue them; returns the variables through which the job's VMs find them."""
        ...

    def revoke(self, *, account_id: str, job_name: str) -> None: ...
