"""The ASGI application: `create_app(settings)`; its lifespan migrates, builds the services, and drains."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import services as service_wiring
from app.api import access_log, cors, s3
from app.api.dispatch import SageliteApp
from app.api.edge import surfaces
from app.api.rest import (
    admin,
    documentation,
    health,
    hosts,
    job_credentials,
    jobs,
    objects,
    observe,
    prometheus,
    responses,
    tuning_jobs,
)
from app.auth import bootstrap
from app.clock import Clock, utcnow
from app.config import Settings
from app.console import install as console
from app.db import migrate
from app.errors import ServiceError
from app.telemetry.metrics import Telemetry

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, clock: Clock = utcnow, services: service_wiring.Services | None = None
) -> SageliteApp:
    """Build the application; nothing touches the disk until the lifespan starts.

    Without `services`, the lifespan migrates the database, builds the services, starts the scheduler
    and closes everything at exit. With prebuilt `services` (tests that drive the scheduler themselves),
    the caller owns them: the lifespan only serves them. Settings that allow no root key raise
    `BootstrapError` here, before a server binds its port.
    """
    bootstrap.check(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        if owned:
            os.umask(0o077)  # as `sagelite serve` does: private files for an in-process server too
            settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            settings.data_dir.chmod(0o700)  # also when it existed already: what is in it is private
            migrate.upgrade(settings.resolved_database_url)
        app.state.services = service_wiring.build(settings, clock=clock) if services is None else services
        if owned:
            app.state.services.start()
        app.state.s3 = s3.create_s3_app(app.state.services.store)
        logger.info(
            "started",
            extra={"data_dir": str(settings.data_dir), "isolation": app.state.services.executor.isolation},
        )
        try:
            yield
        finally:
            if owned:
                app.state.services.close()

    app = SageliteApp(
        title="sagelite",
        summary="A self-hosted training-job service that speaks the Amazon SageMaker API",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(jobs.router)
    app.include_router(objects.router)
    app.include_router(observe.router)
    app.include_router(hosts.router)
    app.include_router(health.router)
    app.include_router(prometheus.router)
    app.include_router(admin.router)
    app.include_router(job_credentials.router)
    app.include_router(tuning_jobs.router)
    documentation.install(app, open_paths=surfaces.OPEN_PATHS | surfaces.BEARER_PATHS)
    console.install(app)
    app.add_exception_handler(ServiceError, responses.service_error)
    app.add_exception_handler(RequestValidationError, responses.request_validation_error)
    app.add_exception_handler(StarletteHTTPException, responses.http_error)
    app.add_exception_handler(Exception, responses.unexpected_error)
    cors.install(app, settings.cors_origins)
    # Last, so outermost: it sees every request, CORS preflights and edge refusals included.
    app.add_edge_middleware(
        lambda inner: access_log.AccessLog(
            inner, telemetry=lambda: _telemetry(app), routes=lambda: app.routes
        )
    )
    return app


def _telemetry(app: SageliteApp) -> Telemetry | None:
    """The running server's metrics; None before the lifespan has built the services."""
    running: service_wiring.Services | None = getattr(app.state, "services", None)
    return None if running is None else running.telemetry
