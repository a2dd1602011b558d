"""What the job page shows, read through the services for the signed-in caller: the job as
DescribeTrainingJob returns it, its VMs, its tags, and the tail of each VM's log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.auth.caller import Caller
from app.hosts import vms
from app.jobs.status import TERMINAL, Status
from app.runtime import logs
from app.services import Services
from app.wire.pages import PageRequest

# The most of a VM's log the page shows; the REST `logs` route has all of it.
LOG_TAIL_BYTES = 64 * 1024
_VMS_SHOWN = 100


@dataclass(frozen=True)
class JobView:
    job: dict[str, Any]
    vms: tuple[vms.VmInfo, ...]
    tags: list[dict[str, str]]

    @property
    def name(self) -> str:
        name: str = self.job["TrainingJobName"]
        return name

    @property
    def running(self) -> bool:
        return Status(self.job["TrainingJobStatus"]) not in TERMINAL

    @property
    def hyperparameters(self) -> list[tuple[str, str]]:
        return sorted(self.job.get("HyperParameters", {}).items())


def job_view(services: Services, name: str, *, caller: Caller) -> JobView:
    job = services.jobs.describe(name, caller=caller)  # NotFound for another account's job too
    found = services.hosts.list_vms(caller=caller, job_name=name, page=PageRequest(max_results=_VMS_SHOWN))
    tags = services.tags.list_tags(job["TrainingJobArn"], caller=caller)["Tags"]
    return JobView(job=job, vms=tuple(found.items), tags=tags)


@dataclass(frozen=True)
class LogTail:
    host: str
    text: str
    truncated: bool


def log_tails(work_dir: Path, *, caller: Caller, job_name: str) -> list[LogTail]:
    """The last `LOG_TAIL_BYTES` of each VM's newest stream (a retried VM starts a new one)."""
    newest: dict[str, Path] = {}
    for stream in logs.streams(work_dir, account_id=caller.account_id, job_name=job_name):
        newest[stream.host] = stream.path  # streams come oldest first per host
    return [_tail(host, path) for host, path in sorted(newest.items())]


def _tail(host: str, path: Path) -> LogTail:
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - LOG_TAIL_BYTES))
        data = f.read(LOG_TAIL_BYTES)
    return LogTail(host=host, text=data.decode("utf-8", errors="replace"), truncated=size > LOG_TAIL_BYTES)
