"""Typed FastAPI dependencies: a route names the service it calls, e.g. `jobs: JobsDep`.

The services are built once at startup (`app.services.build`) and kept on the application; these are
the only readers of `app.state.services` among the REST routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from app.audit.log import AuditLog
from app.auth import permissions
from app.auth.caller import Caller
from app.auth.identities import IdentityService
from app.auth.job_credentials import JobCredentialBroker
from app.config import Settings
from app.health import HealthCheck
from app.hosts.service import HostService
from app.jobs.metric_series import MetricSeries
from app.jobs.service import TrainingJobService
from app.services import Services
from app.storage.object_store import ObjectStore
from app.telemetry.metrics import Telemetry
from app.tuning.service import TuningJobService

T = TypeVar("T")


def _from_services(pick: Callable[[Services], T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency handing a route one of the services."""

    # `async` because FastAPI runs a plain `def` dependency on a worker thread: a hop a lookup does not need.
    async def dependency(request: Request) -> T:
        services: Services = request.app.state.services
        return pick(services)

    return dependency


JobsDep = Annotated[TrainingJobService, Depends(_from_services(lambda s: s.jobs))]
MetricSeriesDep = Annotated[MetricSeries, Depends(_from_services(lambda s: s.metric_series))]
HostsDep = Annotated[HostService, Depends(_from_services(lambda s: s.hosts))]
StoreDep = Annotated[ObjectStore, Depends(_from_services(lambda s: s.store))]
SettingsDep = Annotated[Settings, Depends(_from_services(lambda s: s.settings))]
HealthDep = Annotated[HealthCheck, Depends(_from_services(lambda s: s.health))]
IdentitiesDep = Annotated[IdentityService, Depends(_from_services(lambda s: s.identities))]
AuditDep = Annotated[AuditLog, Depends(_from_services(lambda s: s.audit))]
TuningDep = Annotated[TuningJobService, Depends(_from_services(lambda s: s.tuning))]
TelemetryDep = Annotated[Telemetry, Depends(_from_services(lambda s: s.telemetry))]
JobCredentialsDep = Annotated[JobCredentialBroker, Depends(_from_services(lambda s: s.job_credentials))]


def caller_of(request: Request) -> Caller:
    """The caller the edge verified for this request (the AWS JSON endpoint reads it here too)."""
    # The edge verified the signature before routing (see `app.api.dispatch`); a request that reaches a
    # route without a caller is a wiring defect, so fail closed.
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise RuntimeError("request reached a route without an authenticated caller")
    return caller


async def _caller(request: Request) -> Caller:
    return caller_of(request)


CallerDep = Annotated[Caller, Depends(_caller)]


async def _admin(caller: CallerDep) -> Caller:
    return permissions.require_admin(caller)


# For operator routes: the caller, who must hold an admin key (403 otherwise).
AdminDep = Annotated[Caller, Depends(_admin)]
