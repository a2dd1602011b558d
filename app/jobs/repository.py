"""Queries over training jobs. Every status write is a compare-and-set on the status the writer read.

Reads on behalf of a caller take its `account_id` as a required keyword: a job of another account is
never found, listed or tagged. The scheduler and the runtime act for every account: they read by row
id, or through the functions named `..._of_all_accounts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, String, bindparam, cast, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import TrainingJob
from app.jobs import spec
from app.jobs.status import QUEUED, Secondary, Status, restarts
from app.tags import repository as tag_repository

SUMMARY_COLUMNS = (
    TrainingJob.id,
    TrainingJob.name,
    TrainingJob.arn,
    TrainingJob.status,
    TrainingJob.secondary_status,
    TrainingJob.creation_time,
    TrainingJob.last_modified_time,
    TrainingJob.training_end_time,
)

SORT_COLUMNS = {
    "CreationTime": TrainingJob.creation_time,
    "Name": TrainingJob.name,
    "Status": TrainingJob.status,
}


class DuplicateName(Exception):
    """Another job of the same account already holds this name (case-insensitively)."""


@dataclass(frozen=True, slots=True)
class ListQuery:
    name_contains: str | None = None
    status_equals: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    modified_after: dt.datetime | None = None
    modified_before: dt.datetime | None = None
    sort_by: str = "CreationTime"
    descending: bool = False
    limit: int = 10
    # Keyset cursor: the sort value and id of the last row already returned.
    after: tuple[Any, int] | None = None


# (id, creation time as the database stores it): SQLite may give a new job the id of a deleted one, so
# an id alone does not tell a cached job from its successor. The time stays text: decoding thousands of
# datetimes on every scheduler pass cost more than the rest of the pass.
QueueKey = tuple[int, str]
_CREATED_KEY = cast(TrainingJob.creation_time, String).label("created_key")


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A job waiting for the scheduler, with its typed spec and the message it currently shows."""

    id: int
    name: str
    arn: str  # unique across accounts, unlike the name
    spec: spec.TrainingJobSpec
    message: str
    key: QueueKey


@dataclass(frozen=True, slots=True)
class InterruptedJob:
    """A job that was past its claim when the service stopped; recovery settles it."""

    id: int
    name: str
    status: Status
    secondary: Secondary
    retries_left: int


def name_key(name: str) -> str:
    return name.lower()


def insert(session: Session, job: TrainingJob) -> None:
    session.add(job)
    try:
        session.flush()
    except IntegrityError as error:
        raise DuplicateName(job.name) from error


def get(session: Session, *, account_id: str, name: str) -> TrainingJob | None:
    """The account's job of this name (any case); None if the account has none."""
    return session.scalars(
        select(TrainingJob).where(
            TrainingJob.account_id == account_id, TrainingJob.name_key == name_key(name)
        )
    ).one_or_none()


# Describe is the hottest read. A statement built once, on the table rather than the mapped class, skips
# building the expression and the ORM's object loading on every call: about half of a describe's cost.
_TABLE = TrainingJob.__table__
_ROW_BY_NAME_KEY = select(_TABLE).where(
    _TABLE.c.account_id == bindparam("account_id"), _TABLE.c.name_key == bindparam("name_key")
)


def get_row(session: Session | Connection, *, account_id: str, name: str) -> Row[Any] | None:
    """The account's job as a read-only row with the model's attribute names (for answering reads)."""
    return session.execute(
        _ROW_BY_NAME_KEY, {"account_id": account_id, "name_key": name_key(name)}
    ).one_or_none()


def get_by_id(session: Session, job_id: int) -> TrainingJob | None:
    return session.get(TrainingJob, job_id)


def status_of(session: Session, job_id: int) -> str | None:
    """The job's status alone: what a run polls to hear of a stop asked of another replica."""
    return session.scalar(select(TrainingJob.status).where(TrainingJob.id == job_id))


def count_by_status_of_all_accounts(session: Session) -> dict[tuple[str, str], int]:
    """How many jobs of every account are in each (status, secondary status): the operators' gauge."""
    rows = session.execute(
        select(TrainingJob.status, TrainingJob.secondary_status, func.count()).group_by(
            TrainingJob.status, TrainingJob.secondary_status
        )
    )
    return {(status, secondary): int(count) for status, secondary, count in rows}


def queued_keys_of_all_accounts(session: Session) -> list[QueueKey]:
    """Jobs waiting for VMs, whichever account they belong to, oldest first (FIFO)."""
    rows = session.execute(
        select(TrainingJob.id, _CREATED_KEY)
        .where(TrainingJob.status == Status.IN_PROGRESS, TrainingJob.secondary_status.in_(QUEUED))
        .order_by(TrainingJob.creation_time, TrainingJob.id)
    )
    return [(job_id, created) for job_id, created in rows]


def queued_jobs(session: Session, ids: Sequence[int]) -> list[QueuedJob]:
    """The queued jobs among `ids`, each with its spec parsed from the stored request."""
    if not ids:
        return []
    rows = session.execute(select(TrainingJob, _CREATED_KEY).where(TrainingJob.id.in_(ids)))
    return [
        QueuedJob(
            id=job.id,
            name=job.name,
            arn=job.arn,
            spec=spec.from_request(job.request, account_id=job.account_id),
            message=job.transitions[-1]["StatusMessage"],
            key=(job.id, created),
        )
        for job, created in rows
    ]


def interrupted_of_all_accounts(session: Session) -> list[InterruptedJob]:
    """Jobs of any account claimed or running (or stopping) when the service stopped: everything not
    queued or ended."""
    jobs = session.scalars(
        select(TrainingJob).where(
            (TrainingJob.status == Status.STOPPING)
            | ((TrainingJob.status == Status.IN_PROGRESS) & TrainingJob.secondary_status.not_in(QUEUED))
        )
    )
    return [
        InterruptedJob(
            id=job.id,
            name=job.name,
            status=Status(job.status),
            secondary=Secondary(job.secondary_status),
            retries_left=spec.from_request(job.request, account_id=job.account_id).max_retry_attempts
            - restarts(job.transitions),
        )
        for job in jobs
    ]


def retries_left(session: Session, job_id: int) -> int:
    """How many more times the job's RetryStrategy lets it restart (0 for a job gone or without one)."""
    job = get_by_id(session, job_id)
    if job is None:
        return 0
    allowed = spec.from_request(job.request, account_id=job.account_id).max_retry_attempts
    return allowed - restarts(job.transitions)


def get_by_arn(session: Session, *, account_id: str, arn: str) -> TrainingJob | None:
    """The account's job with this ARN; None for an unknown ARN or another account's."""
    return session.scalars(
        select(TrainingJob).where(TrainingJob.account_id == account_id, TrainingJob.arn == arn)
    ).one_or_none()


def page(session: Session, *, account_id: str, query: ListQuery) -> list[Row[Any]]:
    """One page of the account's summaries (limit + 1 rows, so the caller knows whether another follows)."""
    sort = SORT_COLUMNS[query.sort_by]
    statement = select(*SUMMARY_COLUMNS).where(TrainingJob.account_id == account_id)
    if query.name_contains:
        statement = statement.where(
            TrainingJob.name_key.contains(query.name_contains.lower(), autoescape=True)
        )
    if query.status_equals:
        statement = statement.where(TrainingJob.status == query.status_equals)
    bounds = (
        (query.created_after, TrainingJob.creation_time.__gt__),
        (query.created_before, TrainingJob.creation_time.__lt__),
        (query.modified_after, TrainingJob.last_modified_time.__gt__),
        (query.modified_before, TrainingJob.last_modified_time.__lt__),
    )
    for bound, compare in bounds:
        if bound is not None:
            statement = statement.where(compare(bound))
    if query.after is not None:
        key, cursor = tuple_(sort, TrainingJob.id), tuple_(*query.after)
        statement = statement.where(key < cursor if query.descending else key > cursor)
    order = (sort.desc(), TrainingJob.id.desc()) if query.descending else (sort.asc(), TrainingJob.id.asc())
    return list(session.execute(statement.order_by(*order).limit(query.limit + 1)))


def compare_and_set(
    session: Session, *, job_id: int, expected: tuple[str, str], values: dict[str, Any]
) -> bool:
    """Write `values` only if the job still has the (status, secondary status) the writer read.

    False means another writer moved the job first; the caller re-reads and decides again.
    """
    status, secondary = expected
    result = session.execute(
        update(TrainingJob)
        .where(
            TrainingJob.id == job_id,
            TrainingJob.status == status,
            TrainingJob.secondary_status == secondary,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def remove(session: Session, job: TrainingJob) -> None:
    tag_repository.remove_all(session, account_id=job.account_id, arn=job.arn)
    session.delete(job)
