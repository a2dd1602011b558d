"""SageMaker's training-job status machine. Pure: every status change in the service goes through `advance`.

Primary statuses and the secondary statuses each may carry:
    InProgress: Starting → Downloading → Training → Uploading (also Restarting, Pending)
    Stopping:   Stopping, MaxRuntimeExceeded, Uploading (whatever the model directory holds is still packaged)
    Completed / Failed / Stopped: terminal, never left.
"""

from __future__ import annotations

import datetime as dt
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
    Secondary.STARTING: "Launching requested ML instances",
    Secondary.PENDING: "Preparing the instances for training",
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
    """The state of a job just created: InProgress / Starting."""
    row = _row(Secondary.STARTING, now, message)
    return JobState(Status.IN_PROGRESS, Secondary.STARTING, (row,))


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
