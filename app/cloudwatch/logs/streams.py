"""The log streams of an account: one per VM run, `<job>/algo-N-<epoch>` (epoch: the job's creation time
in seconds), each a log file with its times (`app.runtime.logs`, `app.runtime.log_times`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from app.cloudwatch.errors import LogsResourceNotFound
from app.runtime import log_times, logs

GROUP = "/aws/sagemaker/TrainingJobs"
_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_NO_GROUP = "The specified log group does not exist."
_NO_STREAM = "The specified log stream does not exist."


@dataclass(frozen=True, slots=True)
class StreamInfo:
    name: str
    job_name: str
    path: Path
    creation_ms: int
    first_event_ms: int | None  # None while the stream is empty
    last_event_ms: int | None


def account_dir(work_dir: Path, *, account_id: str) -> Path:
    return work_dir / "logs" / account_id


def check_group(work_dir: Path, *, account_id: str, group: str) -> None:
    """The group exists once one of the account's VMs has written a log, as SageMaker creates it then."""
    if group != GROUP or not account_dir(work_dir, account_id=account_id).is_dir():
        raise LogsResourceNotFound(_NO_GROUP)


def listed(work_dir: Path, *, account_id: str, prefix: str = "") -> list[StreamInfo]:
    """The account's streams whose names start with `prefix`."""
    job_prefix, slash, _ = prefix.partition("/")
    root = account_dir(work_dir, account_id=account_id)
    try:
        jobs = [job_prefix] if slash else [n for n in os.listdir(root) if n.startswith(job_prefix)]
    except FileNotFoundError:
        return []
    found = []
    for job in jobs:
        if _JOB_NAME.fullmatch(job):
            for stream in logs.streams(work_dir, account_id=account_id, job_name=job):
                if stream.name.startswith(prefix):
                    found.append(_info(stream, job))
    return found


def find(work_dir: Path, *, account_id: str, name: str) -> StreamInfo:
    """The account's stream called `name`, or ResourceNotFoundException."""
    job = name.partition("/")[0]
    if _JOB_NAME.fullmatch(job):
        for stream in logs.streams(work_dir, account_id=account_id, job_name=job):
            if stream.name == name:
                return _info(stream, job)
    raise LogsResourceNotFound(_NO_STREAM)


def _info(stream: logs.Stream, job: str) -> StreamInfo:
    epoch = stream.path.stem.rpartition("-")[2]
    creation_ms = int(epoch) * 1000 if epoch.isdigit() else 0
    first = last = None
    try:
        empty = stream.path.stat().st_size == 0
    except FileNotFoundError:
        empty = True
    if not empty:
        with log_times.reading(stream.path, fallback_ms=creation_ms) as times:
            first, last = times.time_at(0), times.last_ms()
    return StreamInfo(stream.name, job, stream.path, creation_ms, first, last)
