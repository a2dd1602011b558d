"""Watching a job: `/v1/training-jobs/{name}/logs` (optionally followed) and `/metrics`.

Logs are plain text, one line per log line, prefixed with the VM (`[algo-1] ...`); `?follow=true`
keeps the response open and streams new lines until the job has ended and every line was sent.
Both answer only for the caller's own jobs (another account's is a 404, as an unknown one is). A log
line longer than `logs.MAX_LINE_BYTES` (256 KiB) arrives as several lines of at most that size, and the
response is streamed about a megabyte at a time: however much a job printed, the server holds only that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from app.api.deps import CallerDep, JobsDep, MetricSeriesDep, SettingsDep
from app.api.rest.documentation import errors, job_name
from app.api.rest.responses import JSON
from app.jobs.status import TERMINAL
from app.runtime import logs

router = APIRouter(prefix="/v1/training-jobs", tags=["training jobs"], default_response_class=JSON)

FOLLOW_POLL_SECONDS = 0.25


@router.get(
    "/{name}/metrics",
    summary="Metric time series found by MetricDefinitions, and final values",
    responses=errors(404),
    openapi_extra=job_name(),
)
async def metrics(name: str, metric_series: MetricSeriesDep, caller: CallerDep) -> Any:
    return await run_in_threadpool(metric_series.series, name, caller=caller)


@router.get(
    "/{name}/logs",
    summary="The job's log lines from every VM; `?follow=true` streams until it ends",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **errors(404)},
    openapi_extra=job_name(),
)
async def job_logs(
    request: Request,
    name: str,
    jobs: JobsDep,
    settings: SettingsDep,
    caller: CallerDep,
    follow: bool = False,
    host: str | None = None,
) -> Any:
    job = jobs.describe(name, caller=caller)  # 404s for unknown jobs before any streaming starts
    tail = _Tail(settings.data_dir, account_id=caller.account_id, job_name=job["TrainingJobName"], host=host)

    async def lines() -> AsyncIterator[bytes]:
        while True:
            done = not follow or jobs.status_of(name, caller=caller) in TERMINAL
            # Once the job has ended its writers are gone: an unterminated last line is sent too.
            while chunk := await run_in_threadpool(tail.read, final=done):
                yield chunk
            if done or await request.is_disconnected():
                return
            await asyncio.sleep(FOLLOW_POLL_SECONDS)

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8")


class _Tail:
    """Lines added to a job's streams since the last read, a bounded chunk of each stream at a time."""

    def __init__(self, work_dir: Path, *, account_id: str, job_name: str, host: str | None) -> None:
        self._work_dir, self._account, self._job, self._host = work_dir, account_id, job_name, host
        self._tail = logs.Tail()

    def read(self, *, final: bool = False) -> bytes:
        out: list[bytes] = []
        for stream in logs.streams(self._work_dir, account_id=self._account, job_name=self._job):
            if self._host is not None and stream.host != self._host:
                continue
            prefix = f"[{stream.host}] ".encode()
            out.extend(prefix + line + b"\n" for line in self._tail.new_lines(stream.path, final=final))
        return b"".join(out)
