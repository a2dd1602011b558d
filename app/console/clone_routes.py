"""A create form, empty or prefilled from one of the caller's jobs ("clone"): the CreateTrainingJob request
as JSON, editable, posted with the session's CSRF token and validated against botocore's model."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from app.console.guard import ActingDep, services_of
from app.console.rendering import PREFIX, page
from app.console.routers import router
from app.errors import ValidationError
from app.wire import model
from app.wire.validate import validate

# Fields of a described job that a new job's request must not repeat.
_NOT_CLONED = frozenset({"TrainingJobName"})


@router.get("/jobs/new")
async def create_form(request: Request, acting: ActingDep) -> Response:
    source = request.query_params.get("from")
    draft: dict[str, Any] = {"TrainingJobName": ""}
    if source:
        job = services_of(request).jobs.describe(source, caller=acting.caller)
        draft = clone_request(job, new_name=f"{job['TrainingJobName'][:56]}-clone")
    return page(
        request, "job_new.html", acting, source=source, draft=json.dumps(draft, indent=2, default=str)
    )


@router.post("/jobs/new")
async def create(request: Request, acting: ActingDep) -> Response:
    text = acting.form.get("request", "")
    try:
        given = json.loads(text)
    except ValueError as error:
        raise ValidationError(f"The request is not JSON: {error}") from None
    params = validate("CreateTrainingJob", given)
    await run_in_threadpool(services_of(request).jobs.create, params, caller=acting.caller)
    return RedirectResponse(f"{PREFIX}/job/{params['TrainingJobName']}", status_code=303)


def clone_request(job: dict[str, Any], *, new_name: str) -> dict[str, Any]:
    """A CreateTrainingJob request repeating every field of `job` that the request takes, renamed."""
    members = model.input_shape("CreateTrainingJob").members
    cloned = {k: v for k, v in job.items() if k in members and k not in _NOT_CLONED}
    return {"TrainingJobName": new_name, **cloned}
