"""Queries over tuning jobs and their trials. Reads for a caller take its `account_id`; the tuner reads
the active tuning jobs of every account (`..._of_all_accounts`) and then acts for each job's account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import TuningJob, TuningTrial

ACTIVE = ("InProgress", "Stopping")


class DuplicateName(Exception):
    """Another tuning job of the account already holds this name (case-insensitively)."""


def name_key(name: str) -> str:
    return name.lower()


def insert(session: Session, job: TuningJob) -> None:
    session.add(job)
    try:
        session.flush()
    except IntegrityError as error:
        raise DuplicateName(job.name) from error


def get(session: Session, *, account_id: str, name: str) -> TuningJob | None:
    return session.scalars(
        select(TuningJob).where(TuningJob.account_id == account_id, TuningJob.name_key == name_key(name))
    ).one_or_none()


def get_by_arn(session: Session, *, account_id: str, arn: str) -> TuningJob | None:
    return session.scalars(
        select(TuningJob).where(TuningJob.account_id == account_id, TuningJob.arn == arn)
    ).one_or_none()


def of_account(session: Session, *, account_id: str) -> Sequence[TuningJob]:
    return session.scalars(select(TuningJob).where(TuningJob.account_id == account_id)).all()


def active_ids_of_all_accounts(session: Session) -> list[int]:
    return list(session.scalars(select(TuningJob.id).where(TuningJob.status.in_(ACTIVE))))


def get_by_id(session: Session, job_id: int) -> TuningJob | None:
    return session.get(TuningJob, job_id)


def trials(session: Session, tuning_job_id: int) -> list[TuningTrial]:
    return list(
        session.scalars(
            select(TuningTrial).where(TuningTrial.tuning_job_id == tuning_job_id).order_by(TuningTrial.number)
        )
    )


def trials_of_jobs(session: Session, tuning_job_ids: Sequence[int]) -> list[TuningTrial]:
    return list(session.scalars(select(TuningTrial).where(TuningTrial.tuning_job_id.in_(tuning_job_ids))))


def add_trial(session: Session, trial: TuningTrial) -> None:
    session.add(trial)
    session.flush()


def set_status(session: Session, *, job_id: int, expected: str, values: dict[str, Any]) -> bool:
    """Compare-and-set of a tuning job's status (and other columns): False if it had moved on."""
    result = session.execute(
        update(TuningJob).where(TuningJob.id == job_id, TuningJob.status == expected).values(**values)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def remove(session: Session, job: TuningJob) -> None:
    session.delete(job)
