"""`/v1/tuning-jobs`: the hyperparameter tuning API for curl. Bodies and fields use the SageMaker names.

Every route acts for the verified caller and sees only its account's tuning jobs (another account's is a
404). The trials of a tuning job are ordinary training jobs, also under `/v1/training-jobs`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.body import read_json
from app.api.deps import CallerDep, TuningDep
from app.api.rest import list_filters
from app.api.rest.documentation import MODEL, errors, json_body, ok, parameter_schemas
from app.api.rest.responses import JSON
from app.wire.validate import validate

router = APIRouter(prefix="/v1/tuning-jobs", tags=["tuning jobs"], default_response_class=JSON)
NAME = "HyperParameterTuningJobName"


def _named(operation: str) -> dict[str, Any]:
    """The path's tuning job name, documented as SageMaker's model constrains it."""
    return parameter_schemas(name=MODEL.member(f"{operation}Request", NAME))


@router.post(
    "",
    status_code=201,
    summary="Create a tuning job (the CreateHyperParameterTuningJob request body)",
    openapi_extra=json_body("CreateHyperParameterTuningJobRequest"),
    responses={201: ok("CreateHyperParameterTuningJobResponse", "Created"), **errors(409)},
)
async def create(request: Request, tuning: TuningDep, caller: CallerDep) -> Any:
    # Read here rather than through FastAPI's Body, so the size limit applies before the body is read.
    params = validate("CreateHyperParameterTuningJob", await read_json(request))
    return await run_in_threadpool(tuning.create, params, caller=caller)


@router.get(
    "",
    summary="List tuning jobs (ListHyperParameterTuningJobs filters as query parameters)",
    responses={200: ok("ListHyperParameterTuningJobsResponse")},
    openapi_extra=list_filters.documented("ListHyperParameterTuningJobsRequest"),
)
async def list_tuning_jobs(
    filters: Annotated[list_filters.ListFilters, Query()], tuning: TuningDep, caller: CallerDep
) -> Any:
    return tuning.list(validate("ListHyperParameterTuningJobs", list_filters.members(filters)), caller=caller)


@router.get(
    "/{name}",
    summary="Describe a tuning job",
    responses={200: ok("DescribeHyperParameterTuningJobResponse"), **errors(404)},
    openapi_extra=_named("DescribeHyperParameterTuningJob"),
)
async def describe(name: str, tuning: TuningDep, caller: CallerDep) -> Any:
    params = validate("DescribeHyperParameterTuningJob", {NAME: name})
    return tuning.describe(params[NAME], caller=caller)


class TrialFilters(BaseModel):
    """ListTrainingJobsForHyperParameterTuningJob's members as query parameters."""

    StatusEquals: str | None = None
    SortBy: str | None = None
    SortOrder: str | None = None
    MaxResults: int | None = None
    NextToken: str | None = None


_TRIALS_REQUEST = "ListTrainingJobsForHyperParameterTuningJobRequest"


@router.get(
    "/{name}/training-jobs",
    summary="List a tuning job's training jobs (sortable by FinalObjectiveMetricValue)",
    responses={200: ok("ListTrainingJobsForHyperParameterTuningJobResponse"), **errors(404)},
    openapi_extra=parameter_schemas(
        name=MODEL.member(_TRIALS_REQUEST, NAME),
        **{name: MODEL.member(_TRIALS_REQUEST, name) for name in TrialFilters.model_fields},
    ),
)
async def list_trials(
    name: str, filters: Annotated[TrialFilters, Query()], tuning: TuningDep, caller: CallerDep
) -> Any:
    given = filters.model_dump(exclude_none=True) | {NAME: name}
    return tuning.list_training_jobs(
        validate("ListTrainingJobsForHyperParameterTuningJob", given), caller=caller
    )


@router.post(
    "/{name}/stop",
    summary="Stop a tuning job and its running training jobs; returns the tuning job as it stands",
    responses={200: ok("DescribeHyperParameterTuningJobResponse"), **errors(404)},
    openapi_extra=_named("StopHyperParameterTuningJob"),
)
async def stop(name: str, tuning: TuningDep, caller: CallerDep) -> Any:
    params = validate("StopHyperParameterTuningJob", {NAME: name})
    await run_in_threadpool(tuning.stop, params[NAME], caller=caller)
    return tuning.describe(params[NAME], caller=caller)


@router.delete(
    "/{name}",
    status_code=204,
    summary="Delete an ended tuning job (its training jobs stay)",
    responses={204: {"description": "Deleted"}, **errors(404, 409)},
    openapi_extra=_named("DeleteHyperParameterTuningJob"),
)
async def delete(name: str, tuning: TuningDep, caller: CallerDep) -> Response:
    params = validate("DeleteHyperParameterTuningJob", {NAME: name})
    await run_in_threadpool(tuning.delete, params[NAME], caller=caller)
    return Response(status_code=204)
