"""SageMaker's training-job status machine. Pure: every status change in the service goes through `advance`.

Primary statuses and the secondary statuses each may carry:
    InProgress: Pending (queued, waiting for capacity) → Starting (claimed: VMs reserved) → Downloading →
                Training → Uploading; Restarting (queued again after the service restarted, to retry)
    Stopping:   Stopping, MaxRuntimeExceeded, Uploading (whatever the model directory holds is still packaged)
    Completed / Failed / Stopped: terminal, never left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class Secondary(StrEnum):
    STARTING = "Starting"
    PENDING = "Pending"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    RESTARTING = "Restarting"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    COMPLETED = "Completed"
    FAILED = "Failed"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.STOPPED})
# Secondary statuses of a job waiting for the scheduler: it holds no VM.
QUEUED = frozenset({Secondary.PENDING, Secondary.RESTARTING})

# Which primary statuses may follow which: the only table the service consults.
NEXT: dict[Status, frozenset[Status]] = {
    Status.IN_PROGRESS: frozenset({Status.IN_PROGRESS, Status.STOPPING, Status.COMPLETED, Status.FAILED}),
    Status.STOPPING: frozenset({Status.STOPPING, Status.STOPPED, Status.FAILED}),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset(),
    Status.STOPPED: frozenset(),
}

ALLOWED_SECONDARY: dict[Status, frozenset[Secondary]] = {
    Status.IN_PROGRESS: frozenset(
        {
            Secondary.STARTING,
            Secondary.PENDING,
            Secondary.DOWNLOADING,
            Secondary.TRAINING,
            Secondary.UPLOADING,
            Secondary.RESTARTING,
        }
    ),
    Status.STOPPING: frozenset({Secondary.STOPPING, Secondary.MAX_RUNTIME_EXCEEDED, Secondary.UPLOADING}),
    Status.COMPLETED: frozenset({Secondary.COMPLETED}),
    Status.FAILED: frozenset({Secondary.FAILED}),
    Status.STOPPED: frozenset({Secondary.STOPPED, Secondary.MAX_RUNTIME_EXCEEDED}),
}

# SageMaker's wording for each secondary status, used when the caller gives no message of its own.
DEFAULT_MESSAGES: dict[Secondary, str] = {
    Secondary.PENDING: "Waiting for compute capacity",
    Secondary.STARTING: "Preparing the instances for training",
    Secondary.DOWNLOADING: "Downloading input data",
    Secondary.TRAINING: "Training image download completed. Training in progress.",
    Secondary.UPLOADING: "Uploading generated training model",
    Secondary.RESTARTING: "Restarting the training job",
    Secondary.STOPPING: "Stopping the training job",
    Secondary.STOPPED: "Training job stopped",
    Secondary.MAX_RUNTIME_EXCEEDED: "Job stopped because max run time was exceeded",
    Secondary.COMPLETED: "Training job completed",
    Secondary.FAILED: "Training job failed",
}


class IllegalTransition(Exception):
    """A status change the machine does not allow (e.g. leaving a terminal state)."""


@dataclass(frozen=True, slots=True)
class JobState:
    status: Status
    secondary: Secondary
    transitions: tuple[dict[str, Any], ...]


def initial(*, now: dt.datetime, message: str | None = None) -> JobState:
    """The state of a job just created: InProgress / Pending, queued until the scheduler claims it."""
    row = _row(Secondary.PENDING, now, message)
    return JobState(Status.IN_PROGRESS, Secondary.PENDING, (row,))


def capacity_message(*, instance_count: int, instance_type: str) -> str:
    """What a queued job waits for, as its Pending row says. Written at create, so that a scheduler pass
    over a long queue has nothing to write while the reason a job waits stays the same."""
    return f"Waiting for compute capacity: {instance_count} x {instance_type}"


def ending(*, status: Status, secondary: Secondary, current: Status) -> tuple[Status, Secondary] | None:
    """Where a run that ended with (status, secondary) lands, given the job's status when that is written;
    None if the job has ended already. The one place a stop racing a run's end is resolved: a stop that
    lands as every process exits 0 leaves the job Stopping, and a Stopping job can only end Stopped. A run
    that ends in a restart (InProgress / Restarting: its host was lost) is no end either way: a stop that
    landed meanwhile is what the job ends with."""
    if current in TERMINAL:
        return None
    if status in (Status.COMPLETED, Status.IN_PROGRESS) and current == Status.STOPPING:
        return Status.STOPPED, Secondary.STOPPED
    return status, secondary


def restarts(transitions: Sequence[Mapping[str, Any]]) -> int:
    """How many times the job was restarted (each restart is a Restarting row): retries used up."""
    return sum(1 for row in transitions if row["Status"] == Secondary.RESTARTING)


def uploading(*, completed: bool, current: Status) -> Status | None:
    """The primary status a run's artifacts upload under; None if the job has ended already."""
    if current in TERMINAL:
        return None
    return Status.IN_PROGRESS if completed and current == Status.IN_PROGRESS else Status.STOPPING


def advance(
    state: JobState, *, status: Status, secondary: Secondary, now: dt.datetime, message: str | None = None
) -> JobState:
    """Move to (status, secondary), closing the open transition row and opening a new one.

    Re-entering the same secondary status only updates the open row's message (e.g. a new reason to wait).
    """
    if status not in NEXT[state.status]:
        raise IllegalTransition(f"cannot move a {state.status} job to {status}")
    if secondary not in ALLOWED_SECONDARY[status]:
        raise IllegalTransition(f"{secondary} is not a secondary status of {status}")
    rows = list(state.transitions)
    if secondary == state.secondary:
        rows[-1] = {**rows[-1], "StatusMessage": message or rows[-1]["StatusMessage"]}
    else:
        rows[-1] = {**rows[-1], "EndTime": now.timestamp()}
        rows.append(_row(secondary, now, message))
    if status in TERMINAL:
        rows[-1] = {**rows[-1], "EndTime": now.timestamp()}
    return JobState(status, secondary, tuple(rows))


def _row(secondary: Secondary, now: dt.datetime, message: str | None) -> dict[str, Any]:
    return {
        "Status": secondary.value,
        "StartTime": now.timestamp(),
        "StatusMessage": message or DEFAULT_MESSAGES[secondary],
    }
