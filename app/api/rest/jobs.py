"""`/v1/training-jobs`: the training-job API for curl. Bodies and fields use the SageMaker names.

Every route acts for the verified caller and sees only its account's jobs (another account's is a 404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.body import read_json
from app.api.deps import CallerDep, JobsDep
from app.api.rest import list_filters
from app.api.rest.documentation import MODEL, errors, json_body, ok, parameter_schemas
from app.api.rest.responses import JSON
from app.wire.validate import validate

router = APIRouter(prefix="/v1/training-jobs", tags=["training jobs"], default_response_class=JSON)


def _named(operation: str) -> dict[str, Any]:
    """The path's job name, documented as SageMaker's model constrains it."""
    return parameter_schemas(name=MODEL.member(f"{operation}Request", "TrainingJobName"))


@router.post(
    "",
    status_code=201,
    summary="Create a training job (the CreateTrainingJob request body)",
    openapi_extra=json_body("CreateTrainingJobRequest"),
    responses={201: ok("CreateTrainingJobResponse", "Created"), **errors(409)},
)
async def create(request: Request, jobs: JobsDep, caller: CallerDep) -> Any:
    # Read here rather than through FastAPI's Body, so the size limit applies before the body is read.
    params = validate("CreateTrainingJob", await read_json(request))
    return await run_in_threadpool(jobs.create, params, caller=caller)


@router.get(
    "",
    summary="List training jobs (ListTrainingJobs filters as query parameters)",
    responses={200: ok("ListTrainingJobsResponse")},
    openapi_extra=list_filters.documented("ListTrainingJobsRequest"),
)
async def list_jobs(
    filters: Annotated[list_filters.ListFilters, Query()], jobs: JobsDep, caller: CallerDep
) -> Any:
    return jobs.list(validate("ListTrainingJobs", list_filters.members(filters)), caller=caller)


@router.get(
    "/{name}",
    summary="Describe a training job",
    responses={200: ok("DescribeTrainingJobResponse"), **errors(404)},
    openapi_extra=_named("DescribeTrainingJob"),
)
async def describe(name: str, jobs: JobsDep, caller: CallerDep) -> Any:
    params = validate("DescribeTrainingJob", {"TrainingJobName": name})
    return jobs.describe(params["TrainingJobName"], caller=caller)


@router.post(
    "/{name}/stop",
    summary="Stop a training job; returns the job as it stands",
    responses={200: ok("DescribeTrainingJobResponse"), **errors(404)},
    openapi_extra=_named("StopTrainingJob"),
)
async def stop(name: str, jobs: JobsDep, caller: CallerDep) -> Any:
    params = validate("StopTrainingJob", {"TrainingJobName": name})
    await run_in_threadpool(jobs.stop, params["TrainingJobName"], caller=caller)
    return jobs.describe(params["TrainingJobName"], caller=caller)


@router.delete(
    "/{name}",
    status_code=204,
    summary="Delete a finished training job",
    responses={204: {"description": "Deleted"}, **errors(404, 409)},
    openapi_extra=_named("DeleteTrainingJob"),
)
async def delete(name: str, jobs: JobsDep, caller: CallerDep) -> Response:
    params = validate("DeleteTrainingJob", {"TrainingJobName": name})
    await run_in_threadpool(jobs.delete, params["TrainingJobName"], caller=caller)
    return Response(status_code=204)
