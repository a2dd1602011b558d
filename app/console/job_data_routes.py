"""Data the job page fetches: metric series for the charts, downsampled on the server to at most
`downsample.THRESHOLD` points each, and the job's artifacts as downloads (the bytes REST serves)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.auth.caller import Caller
from app.console import charts, downsample
from app.console.guard import ActingDep, services_of
from app.console.routers import router
from app.jobs.status import TERMINAL, Status
from app.services import Services
from app.storage import artifact_layout, uris
from app.storage.errors import NoSuchKey
from app.storage.object_store import ObjectReader


@router.get("/job/{name}/metrics.json")
async def metrics(request: Request, name: str, acting: ActingDep) -> Response:
    body = await run_in_threadpool(chart_data, services_of(request), name, caller=acting.caller)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def chart_data(services: Services, name: str, *, caller: Caller) -> dict[str, Any]:
    """The job's charts (`charts.chart_series`): `count` is how many points the job emitted, the arrays hold
    at most `threshold` of them; `live` while the job runs, so the page keeps polling."""
    metrics = charts.chart_series(services.sessions, name, caller=caller)
    status = services.jobs.status_of(name, caller=caller)
    live = Status(status) not in TERMINAL
    return {"job": name, "live": live, "threshold": downsample.THRESHOLD, "metrics": metrics}


@router.get("/job/{name}/{artifact}.tar.gz")
async def artifact(request: Request, name: str, artifact: str, acting: ActingDep) -> Response:
    filename = f"{artifact}.tar.gz"
    if filename not in (artifact_layout.MODEL_TARBALL, artifact_layout.OUTPUT_TARBALL):
        raise NoSuchKey(f"Training jobs have no {filename}.")
    services = services_of(request)
    reader = await run_in_threadpool(_open_artifact, services, name, filename, caller=acting.caller)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}-{filename}"',
        "Content-Length": str(reader.info.size),
    }
    return StreamingResponse(_chunks(reader), media_type="application/gzip", headers=headers)


def _open_artifact(services: Services, name: str, filename: str, *, caller: Caller) -> ObjectReader:
    job = services.jobs.describe(name, caller=caller)
    model = job.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    if model is None or (filename == artifact_layout.MODEL_TARBALL and model.endswith("/")):
        raise NoSuchKey(f"Training job {name} has no {filename} (yet).")
    if filename == artifact_layout.OUTPUT_TARBALL:
        model = artifact_layout.output_tarball(
            job["OutputDataConfig"]["S3OutputPath"], job["TrainingJobName"]
        )
    uri = uris.parse_s3_uri(model)
    return services.store.open_object(uri.bucket, uri.key)


def _chunks(reader: ObjectReader) -> Iterator[bytes]:
    with reader:
        yield from reader.iter_range()
