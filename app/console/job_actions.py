"""What the job page does: stop the job, pause and resume its VMs, add and remove tags (cloning is in
`clone_routes`). Each action answers with the page's live fragment, which htmx swaps in."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.console.guard import ActingDep, services_of
from app.console.job_routes import render_job
from app.console.routers import router
from app.errors import ValidationError
from app.wire.validate import validate

_LIVE = "job_live.html"


@router.post("/job/{name}/stop")
async def stop(request: Request, name: str, acting: ActingDep) -> Response:
    params = validate("StopTrainingJob", {"TrainingJobName": name})
    await run_in_threadpool(services_of(request).jobs.stop, params["TrainingJobName"], caller=acting.caller)
    return await render_job(request, acting, name, _LIVE)


@router.post("/job/{name}/vms/{vm_id}/{move}")
async def move_vm(request: Request, name: str, vm_id: str, move: str, acting: ActingDep) -> Response:
    hosts = services_of(request).hosts
    if move not in ("pause", "resume"):
        raise ValidationError("A VM can be paused or resumed.")
    action = hosts.pause if move == "pause" else hosts.resume
    await run_in_threadpool(action, vm_id, caller=acting.caller)
    return await render_job(request, acting, name, _LIVE)


@router.post("/job/{name}/tags")
async def add_tag(request: Request, name: str, acting: ActingDep) -> Response:
    services = services_of(request)
    tag = {"Key": acting.form.get("key", ""), "Value": acting.form.get("value", "")}
    arn = services.jobs.describe(name, caller=acting.caller)["TrainingJobArn"]
    params = validate("AddTags", {"ResourceArn": arn, "Tags": [tag]})
    await run_in_threadpool(services.tags.add_tags, arn, params["Tags"], caller=acting.caller)
    return await render_job(request, acting, name, _LIVE)


@router.post("/job/{name}/tags/delete")
async def delete_tag(request: Request, name: str, acting: ActingDep) -> Response:
    services = services_of(request)
    arn = services.jobs.describe(name, caller=acting.caller)["TrainingJobArn"]
    params = validate("DeleteTags", {"ResourceArn": arn, "TagKeys": [acting.form.get("key", "")]})
    await run_in_threadpool(services.tags.delete_tags, arn, params["TagKeys"], caller=acting.caller)
    return await render_job(request, acting, name, _LIVE)
