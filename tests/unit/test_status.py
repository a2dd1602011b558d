"""The pure status machine: which moves are allowed, terminal states, and the transition rows it keeps."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from app.jobs.status import (
    ALLOWED_SECONDARY,
    DEFAULT_MESSAGES,
    NEXT,
    TERMINAL,
    IllegalTransition,
    JobState,
    Secondary,
    Status,
    advance,
    ending,
    initial,
    restarts,
    uploading,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def state_in(status: Status) -> JobState:
    """A job that reached `status` the ordinary way."""
    state = initial(now=T0)
    path = {
        Status.IN_PROGRESS: [],
        Status.STOPPING: [(Status.STOPPING, Secondary.STOPPING)],
        Status.STOPPED: [(Status.STOPPING, Secondary.STOPPING), (Status.STOPPED, Secondary.STOPPED)],
        Status.COMPLETED: [(Status.COMPLETED, Secondary.COMPLETED)],
        Status.FAILED: [(Status.FAILED, Secondary.FAILED)],
    }[status]
    for step, (primary, secondary) in enumerate(path, start=1):
        state = advance(state, status=primary, secondary=secondary, now=at(step))
    assert state.status == status
    return state


def test_the_transition_table_is_sagemakers() -> None:
    assert {
        Status.IN_PROGRESS: {Status.IN_PROGRESS, Status.STOPPING, Status.COMPLETED, Status.FAILED},
        Status.STOPPING: {Status.STOPPING, Status.STOPPED, Status.FAILED},
        Status.COMPLETED: set(),
        Status.FAILED: set(),
        Status.STOPPED: set(),
    } == NEXT
    assert {Status.COMPLETED, Status.FAILED, Status.STOPPED} == TERMINAL
    assert set(NEXT) == set(Status) == set(ALLOWED_SECONDARY)


def test_a_new_job_is_in_progress_and_pending_with_one_open_row() -> None:
    state = initial(now=T0)
    assert (state.status, state.secondary) == (Status.IN_PROGRESS, Secondary.PENDING)
    assert state.transitions == (
        {
            "Status": "Pending",
            "StartTime": T0.timestamp(),
            "StatusMessage": "Waiting for compute capacity",
        },
    )
    assert initial(now=T0, message="Waiting for capacity").transitions[0]["StatusMessage"] == (
        "Waiting for capacity"
    )


ALL_MOVES = [
    (source, target, secondary)
    for source, target in itertools.product(Status, Status)
    for secondary in sorted(ALLOWED_SECONDARY[target])
]


@pytest.mark.parametrize(("source", "target", "secondary"), ALL_MOVES)
def test_every_move_is_allowed_exactly_when_the_table_says(
    source: Status, target: Status, secondary: Secondary
) -> None:
    state = state_in(source)
    if target in NEXT[source]:
        moved = advance(state, status=target, secondary=secondary, now=at(100))
        assert (moved.status, moved.secondary) == (target, secondary)
    else:
        with pytest.raises(IllegalTransition, match=f"cannot move a {source} job to {target}"):
            advance(state, status=target, secondary=secondary, now=at(100))


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_terminal_states_are_never_left(terminal: Status) -> None:
    state = state_in(terminal)
    for target, secondary in itertools.product(Status, Secondary):
        with pytest.raises(IllegalTransition):
            advance(state, status=target, secondary=secondary, now=at(100))


@pytest.mark.parametrize(
    ("status", "secondary"),
    [
        (Status.IN_PROGRESS, Secondary.COMPLETED),
        (Status.IN_PROGRESS, Secondary.STOPPED),
        (Status.STOPPING, Secondary.TRAINING),
        (Status.COMPLETED, Secondary.FAILED),
        (Status.FAILED, Secondary.STOPPED),
    ],
)
def test_a_secondary_status_must_belong_to_its_primary(status: Status, secondary: Secondary) -> None:
    with pytest.raises(IllegalTransition, match=f"{secondary} is not a secondary status of {status}"):
        advance(initial(now=T0), status=status, secondary=secondary, now=at(1))


def test_moving_on_closes_the_open_row_and_opens_a_new_one() -> None:
    state = advance(initial(now=T0), status=Status.IN_PROGRESS, secondary=Secondary.DOWNLOADING, now=at(5))
    state = advance(state, status=Status.IN_PROGRESS, secondary=Secondary.TRAINING, now=at(9))
    assert state.transitions == (
        {
            "Status": "Pending",
            "StartTime": T0.timestamp(),
            "EndTime": at(5).timestamp(),
            "StatusMessage": "Waiting for compute capacity",
        },
        {
            "Status": "Downloading",
            "StartTime": at(5).timestamp(),
            "EndTime": at(9).timestamp(),
            "StatusMessage": "Downloading input data",
        },
        {
            "Status": "Training",
            "StartTime": at(9).timestamp(),
            "StatusMessage": "Training image download completed. Training in progress.",
        },
    )


def test_a_terminal_move_closes_the_last_row_too() -> None:
    state = advance(initial(now=T0), status=Status.IN_PROGRESS, secondary=Secondary.TRAINING, now=at(1))
    state = advance(state, status=Status.COMPLETED, secondary=Secondary.COMPLETED, now=at(7))
    assert [row["Status"] for row in state.transitions] == ["Pending", "Training", "Completed"]
    assert all("EndTime" in row for row in state.transitions)
    assert state.transitions[-1]["StartTime"] == state.transitions[-1]["EndTime"] == at(7).timestamp()
    assert state.transitions[-1]["StatusMessage"] == "Training job completed"


def test_reentering_the_same_secondary_only_updates_the_message() -> None:
    first = initial(now=T0)
    waiting = advance(
        first,
        status=Status.IN_PROGRESS,
        secondary=Secondary.PENDING,
        now=at(3),
        message="Waiting for capacity",
    )
    assert waiting.transitions == (
        {"Status": "Pending", "StartTime": T0.timestamp(), "StatusMessage": "Waiting for capacity"},
    )
    # Without a new message the old one stays (it is not reset to the default wording).
    again = advance(waiting, status=Status.IN_PROGRESS, secondary=Secondary.PENDING, now=at(4))
    assert again.transitions == waiting.transitions


def test_max_runtime_keeps_its_secondary_row_while_stopping_then_closes_it() -> None:
    state = advance(
        initial(now=T0), status=Status.STOPPING, secondary=Secondary.MAX_RUNTIME_EXCEEDED, now=at(10)
    )
    state = advance(state, status=Status.STOPPED, secondary=Secondary.MAX_RUNTIME_EXCEEDED, now=at(12))
    assert (state.status, state.secondary) == (Status.STOPPED, Secondary.MAX_RUNTIME_EXCEEDED)
    assert [row["Status"] for row in state.transitions] == ["Pending", "MaxRuntimeExceeded"]
    assert state.transitions[-1]["StartTime"] == at(10).timestamp()
    assert state.transitions[-1]["EndTime"] == at(12).timestamp()


def test_advance_is_pure() -> None:
    state = initial(now=T0)
    before = [dict(row) for row in state.transitions]
    advance(state, status=Status.FAILED, secondary=Secondary.FAILED, now=at(1), message="AlgorithmError: x")
    assert [dict(row) for row in state.transitions] == before


# For each secondary status: a primary status that carries it, reached from a job in InProgress / Training.
CARRIER = {
    Secondary.STARTING: Status.IN_PROGRESS,
    Secondary.PENDING: Status.IN_PROGRESS,
    Secondary.DOWNLOADING: Status.IN_PROGRESS,
    Secondary.UPLOADING: Status.IN_PROGRESS,
    Secondary.RESTARTING: Status.IN_PROGRESS,
    Secondary.STOPPING: Status.STOPPING,
    Secondary.MAX_RUNTIME_EXCEEDED: Status.STOPPING,
    Secondary.COMPLETED: Status.COMPLETED,
    Secondary.FAILED: Status.FAILED,
}


@pytest.mark.parametrize("secondary", sorted(CARRIER))
def test_each_new_row_gets_sagemakers_default_message(secondary: Secondary) -> None:
    training = advance(initial(now=T0), status=Status.IN_PROGRESS, secondary=Secondary.TRAINING, now=at(1))
    moved = advance(training, status=CARRIER[secondary], secondary=secondary, now=at(2))
    assert moved.transitions[-1]["Status"] == secondary.value
    assert moved.transitions[-1]["StatusMessage"] == DEFAULT_MESSAGES[secondary]


def test_the_remaining_default_messages() -> None:
    assert set(DEFAULT_MESSAGES) == set(Secondary)
    stopped = state_in(Status.STOPPED)
    assert stopped.transitions[-1]["StatusMessage"] == "Training job stopped"
    assert initial(now=T0).transitions[-1]["StatusMessage"] == DEFAULT_MESSAGES[Secondary.PENDING]
    downloading = advance(
        initial(now=T0), status=Status.IN_PROGRESS, secondary=Secondary.DOWNLOADING, now=at(1)
    )
    training = advance(downloading, status=Status.IN_PROGRESS, secondary=Secondary.TRAINING, now=at(2))
    assert training.transitions[-1]["StatusMessage"] == DEFAULT_MESSAGES[Secondary.TRAINING]


def test_a_given_message_wins_over_the_default() -> None:
    failed = advance(
        initial(now=T0),
        status=Status.FAILED,
        secondary=Secondary.FAILED,
        now=at(2),
        message="AlgorithmError: boom",
    )
    assert failed.transitions[-1]["StatusMessage"] == "AlgorithmError: boom"
    assert failed.transitions[0]["StatusMessage"] == "Waiting for compute capacity"


@pytest.mark.parametrize(
    ("outcome", "current", "expected"),
    [
        (
            (Status.COMPLETED, Secondary.COMPLETED),
            Status.IN_PROGRESS,
            (Status.COMPLETED, Secondary.COMPLETED),
        ),
        # A stop that lands as every process exits 0: a Stopping job can only end Stopped.
        ((Status.COMPLETED, Secondary.COMPLETED), Status.STOPPING, (Status.STOPPED, Secondary.STOPPED)),
        ((Status.FAILED, Secondary.FAILED), Status.STOPPING, (Status.FAILED, Secondary.FAILED)),
        (
            (Status.STOPPED, Secondary.MAX_RUNTIME_EXCEEDED),
            Status.STOPPING,
            (Status.STOPPED, Secondary.MAX_RUNTIME_EXCEEDED),
        ),
        ((Status.COMPLETED, Secondary.COMPLETED), Status.STOPPED, None),
        ((Status.FAILED, Secondary.FAILED), Status.COMPLETED, None),
        # A run whose host was lost restarts the job, unless a stop landed meanwhile.
        (
            (Status.IN_PROGRESS, Secondary.RESTARTING),
            Status.IN_PROGRESS,
            (Status.IN_PROGRESS, Secondary.RESTARTING),
        ),
        ((Status.IN_PROGRESS, Secondary.RESTARTING), Status.STOPPING, (Status.STOPPED, Secondary.STOPPED)),
        ((Status.IN_PROGRESS, Secondary.RESTARTING), Status.FAILED, None),
    ],
)
def test_a_runs_end_is_settled_against_the_jobs_status(
    outcome: tuple[Status, Secondary], current: Status, expected: tuple[Status, Secondary] | None
) -> None:
    assert ending(status=outcome[0], secondary=outcome[1], current=current) == expected


def test_each_restarting_row_is_a_retry_used_up() -> None:
    state = initial(now=T0)
    steps = [Secondary.STARTING, Secondary.TRAINING, Secondary.RESTARTING, Secondary.STARTING]
    for step, secondary in enumerate([*steps, Secondary.RESTARTING]):
        state = advance(state, status=Status.IN_PROGRESS, secondary=secondary, now=at(step + 1))
    assert restarts(state.transitions) == 2
    assert restarts(initial(now=T0).transitions) == 0


def test_artifacts_upload_under_stopping_unless_the_run_completed_uninterrupted() -> None:
    assert uploading(completed=True, current=Status.IN_PROGRESS) == Status.IN_PROGRESS
    assert uploading(completed=True, current=Status.STOPPING) == Status.STOPPING
    assert uploading(completed=False, current=Status.IN_PROGRESS) == Status.STOPPING
    assert uploading(completed=False, current=Status.STOPPED) is None
