"""The job page and the fragments that keep it live: the summary and VMs re-render every two seconds
while the job runs; the logs follow as server-sent events while "follow" is on; charts poll
`metrics.json` (`job_data_routes`)."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from app.console import log_follow
from app.console.guard import ActingDep, services_of
from app.console.job_view import job_view, log_tails
from app.console.rendering import page
from app.console.routers import router
from app.jobs.status import TERMINAL
from app.wire.validate import validate


def _name(name: str) -> str:
    params: dict[str, str] = validate("DescribeTrainingJob", {"TrainingJobName": name})
    return params["TrainingJobName"]


async def render_job(request: Request, acting: ActingDep, name: str, template: str) -> Response:
    view = await run_in_threadpool(job_view, services_of(request), _name(name), caller=acting.caller)
    return page(request, template, acting, view=view)


@router.get("/job/{name}")
async def job_page(request: Request, name: str, acting: ActingDep) -> Response:
    return await render_job(request, acting, name, "job.html")


@router.get("/job/{name}/live")
async def job_live(request: Request, name: str, acting: ActingDep) -> Response:
    return await render_job(request, acting, name, "job_live.html")


@router.get("/job/{name}/logs")
async def job_logs(request: Request, name: str, acting: ActingDep) -> Response:
    services = services_of(request)
    job = _name(name)
    await run_in_threadpool(services.jobs.describe, job, caller=acting.caller)  # 404s another's job
    tails = await run_in_threadpool(log_tails, services.settings.data_dir, caller=acting.caller, job_name=job)
    return page(request, "job_logs.html", acting, tails=tails)


@router.get("/job/{name}/logs/events")
async def job_log_events(request: Request, name: str, acting: ActingDep) -> Response:
    """The logs followed as server-sent events (`log_follow`)."""
    services, caller, job = services_of(request), acting.caller, _name(name)
    await run_in_threadpool(services.jobs.describe, job, caller=caller)  # 404s another's job
    work_dir = services.settings.data_dir
    stream = log_follow.events(
        read=lambda offsets, at_end: log_follow.new_chunks(
            work_dir, caller=caller, job_name=job, offsets=offsets, at_end=at_end
        ),
        ended=lambda: services.jobs.status_of(job, caller=caller) in TERMINAL,
        offsets=log_follow.resume_offsets(request.headers.get("last-event-id")),
    )
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
