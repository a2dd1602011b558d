"""Tables. A training job keeps the request as sent (so nothing is dropped) beside the columns we query."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime


class TrainingJob(Base):
    __tablename__ = "training_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The 12-digit account the job belongs to: every read on behalf of a caller filters on it.
    account_id: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(63))
    # SageMaker names are unique within an account regardless of case (the ARN lower-cases them): the
    # (account_id, name_key) constraint enforces it.
    name_key: Mapped[str] = mapped_column(String(63))
    arn: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    secondary_status: Mapped[str] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(String(1024))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    transitions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    model_artifacts: Mapped[str | None] = mapped_column(Text)
    final_metrics: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    creation_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_modified_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    training_start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    training_end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    billable_seconds: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("account_id", "name_key"),
        # ListTrainingJobs reads one account's jobs in the order of its sort key.
        Index("ix_training_jobs_account_creation", "account_id", "creation_time", "id"),
        Index("ix_training_jobs_account_name", "account_id", "name", "id"),
        Index("ix_training_jobs_status", "status", "id"),
    )


class Tag(Base):
    """Tags of any resource, keyed by ARN as the SageMaker tagging API is, and owned by its account."""

    __tablename__ = "tags"

    # The account in the ARN, kept as a column so every tag query filters on the caller's account.
    account_id: Mapped[str] = mapped_column(String(12))
    resource_arn: Mapped[str] = mapped_column(String(256), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Host(Base):
    """A machine whose capacity is carved into VMs. Synced from the configured pool at startup."""

    __tablename__ = "hosts"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    vcpus: Mapped[float] = mapped_column(Float)
    memory_gib: Mapped[float] = mapped_column(Float)
    gpus: Mapped[int] = mapped_column(Integer)
    disk_gib: Mapped[float] = mapped_column(Float)


class Vm(Base):
    """One instance of a job (`algo-N`) reserved on a host. Capacity in use is the sum over live VMs."""

    __tablename__ = "vms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("training_jobs.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(ForeignKey("hosts.name"))
    hostname: Mapped[str] = mapped_column(String(16))
    instance_type: Mapped[str] = mapped_column(String(32))
    vcpus: Mapped[float] = mapped_column(Float)
    memory_gib: Mapped[float] = mapped_column(Float)
    gpus: Mapped[int] = mapped_column(Integer)
    disk_gib: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), index=True)
    pid: Mapped[int | None] = mapped_column(Integer)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    # When the VM's capacity is back at the latest (start + max runtime + stop grace): placement needs it.
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MetricPoint(Base):
    """One value of a job's metric, as a MetricDefinitions regex found it in a VM's log."""

    __tablename__ = "metric_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("training_jobs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[float] = mapped_column(Float)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The VM whose log held the value (`algo-1`...); None for points stored before hosts were recorded.
    host: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ix_metric_points_job", "job_id", "name", "timestamp"),)


class Account(Base):
    """A tenant: every resource belongs to one. The id is 12 digits, as an AWS account's."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AccessKey(Base):
    """A SigV4 signing key of an account: long-lived (`AKIA…`) or a job's temporary one (`ASIA…`).

    The secret (and a temporary key's session token) are kept wrapped by the master key, bound to the key
    id, because SigV4 verification needs the secret itself, not a hash of it.
    """

    __tablename__ = "access_keys"

    access_key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    wrapped_secret: Mapped[bytes] = mapped_column(LargeBinary)
    is_admin: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Temporary keys only: the job they were issued to, their session token and when they expire.
    job_name: Mapped[str | None] = mapped_column(String(63))
    wrapped_session_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # STS AssumeRole's keys only: `<role name>/<session name>`, the assumed-role ARN's last two parts.
    role_session: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_access_keys_job", "account_id", "job_name"),)


class AuditEvent(Base):
    """One mutating call or refusal; refusals of one key (or address) in one minute share a row and a count.

    Append-only: rows are inserted, and deleted only by the retention purge.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    account_id: Mapped[str | None] = mapped_column(String(12))
    access_key_id: Mapped[str | None] = mapped_column(String(128))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(128))
    resource: Mapped[str | None] = mapped_column(String(1024))
    outcome: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_audit_events_account", "account_id", "time"),)


class TuningJob(Base):
    """A hyperparameter tuning job: its request as sent, its status, and what ended it."""

    __tablename__ = "tuning_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(32))
    name_key: Mapped[str] = mapped_column(String(32))  # unique per account regardless of case
    arn: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The optimizer's seed: RandomSeed when given, else drawn at create, so a restart asks the same.
    seed: Mapped[int] = mapped_column(Integer)
    # Whether an administrator created it: its training jobs then act with the same right (file:// data).
    by_admin: Mapped[bool] = mapped_column(Boolean)
    # Parent trials of a warm start, read at create: [{"definition", "tuned", "value"}].
    warm_start: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    failure_reason: Mapped[str | None] = mapped_column(String(1024))
    completion_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    creation_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_modified_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("account_id", "name_key"),)


class TuningTrial(Base):
    """One training job a tuning job launched: its number, tuned hyperparameters and objective."""

    __tablename__ = "tuning_trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tuning_job_id: Mapped[int] = mapped_column(ForeignKey("tuning_jobs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... as in the child's name
    definition: Mapped[int] = mapped_column(Integer)  # index into the training job definitions
    training_job_name: Mapped[str] = mapped_column(String(63))
    training_job_arn: Mapped[str] = mapped_column(String(256))
    tuned: Mapped[dict[str, str]] = mapped_column(JSON)
    # InProgress until the child ends; then the child's terminal status, kept if the child is deleted.
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float | None] = mapped_column(Float)
    objective_status: Mapped[str] = mapped_column(String(16))  # Pending | Succeeded | Failed
    failure_reason: Mapped[str | None] = mapped_column(String(1024))
    retryable: Mapped[bool] = mapped_column(Boolean, default=False)
    early_stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    # The objective per epoch, as the early stopping rules read it, and the pruner's own bookkeeping.
    intermediate: Mapped[list[float]] = mapped_column(JSON)
    pruner_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    creation_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    training_start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    training_end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    billable_seconds: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("tuning_job_id", "number"),)


class ConsoleSession(Base):
    """A signed-in web console session. Only the token's SHA-256 is stored: a copy of the database does not
    let anyone act as a signed-in user. Kept in the database so every replica sharing it knows the session."""

    __tablename__ = "console_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The key the session signed in with: every request re-reads it, so revoking the key ends the session.
    access_key_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class SchedulerLease(Base):
    """Who places jobs when several API replicas share one database: one row, its epoch raised by each new
    leader. Every write the scheduler and its runs make checks the epoch it was elected with (fencing), so a
    former leader that hung past its lease cannot write over its successor."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str | None] = mapped_column(String(255))
    # Where the holder ran: its successor reaps the VMs it left only on that same machine.
    machine: Mapped[str | None] = mapped_column(String(255))
    acquired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
