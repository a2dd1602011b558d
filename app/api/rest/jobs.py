"""`/v1/training-jobs`: the training-job API for curl. Bodies and fields use the SageMaker names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.body import parse_json, read_limited
from app.api.rest.responses import JSON
from app.services import Services
from app.wire.validate import validate

router = APIRouter(prefix="/v1/training-jobs", tags=["training jobs"], default_response_class=JSON)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


_JSON_OBJECT_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


@router.post(
    "",
    status_code=201,
    summary="Create a training job (the CreateTrainingJob request body)",
    openapi_extra=_JSON_OBJECT_BODY,
)
async def create(request: Request) -> Any:
    # Read here rather than through FastAPI's Body, so the size limit applies before the body is read.
    params = validate("CreateTrainingJob", parse_json(await read_limited(request)))
    return await run_in_threadpool(_services(request).jobs.create, params)


@router.get("", summary="List training jobs (ListTrainingJobs filters as query parameters)")
async def list_jobs(
    request: Request,
    NameContains: str | None = None,
    StatusEquals: str | None = None,
    CreationTimeAfter: str | None = None,
    CreationTimeBefore: str | None = None,
    LastModifiedTimeAfter: str | None = None,
    LastModifiedTimeBefore: str | None = None,
    SortBy: str | None = None,
    SortOrder: str | None = None,
    MaxResults: Annotated[int | None, Query()] = None,
    NextToken: str | None = None,
) -> Any:
    given = {k: v for k, v in locals().items() if k != "request" and v is not None}
    given |= {k: _epoch_or_text(given[k]) for k in _TIME_FILTERS if k in given}
    return _services(request).jobs.list(validate("ListTrainingJobs", given))


_TIME_FILTERS = ("CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter", "LastModifiedTimeBefore")


def _epoch_or_text(value: str) -> float | str:
    """A query string carries epoch seconds as text; the validator reads numbers as epoch seconds."""
    try:
        return float(value)
    except ValueError:
        return value


@router.get("/{name}", summary="Describe a training job")
async def describe(request: Request, name: str) -> Any:
    params = validate("DescribeTrainingJob", {"TrainingJobName": name})
    return _services(request).jobs.describe(params["TrainingJobName"])


@router.post("/{name}/stop", summary="Stop a training job; returns the job as it stands")
async def stop(request: Request, name: str) -> Any:
    params = validate("StopTrainingJob", {"TrainingJobName": name})
    jobs = _services(request).jobs
    await run_in_threadpool(jobs.stop, params["TrainingJobName"])
    return jobs.describe(params["TrainingJobName"])


@router.delete("/{name}", status_code=204, summary="Delete a finished training job")
async def delete(request: Request, name: str) -> Response:
    params = validate("DeleteTrainingJob", {"TrainingJobName": name})
    await run_in_threadpool(_services(request).jobs.delete, params["TrainingJobName"])
    return Response(status_code=204)
