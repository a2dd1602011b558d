"""TrainingJobService over a real, migrated SQLite file with a fake clock."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import FakeClock
from app.db import migrate
from app.db.models import Tag
from app.db.session import make_engine, make_session_factory
from app.errors import NotFound, ResourceInUse, ResourceLimitExceeded, ValidationError
from app.jobs import repository
from app.jobs.lifecycle import JobLifecycle
from app.jobs.service import TrainingJobService
from app.jobs.spec import ResourceSpec
from app.jobs.status import IllegalTransition, Secondary, Status
from app.tags.service import TagService
from tests.conftest import create_request
from tests.support.callers import ROOT
from tests.support.collaborators import RecordingRuntime, job_service

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
STATUSES = ("Completed", "Failed", "InProgress", "Stopped", "Stopping")


IdOf = Callable[[str], int]


def claim(sessions: sessionmaker[Session], lifecycle: JobLifecycle, name: str) -> None:
    """What the scheduler does: the queued job moves to Starting (its VMs would be reserved with it)."""
    with sessions.begin() as session:
        assert lifecycle.claim_in(session, id_in(sessions, name))


def id_in(sessions: sessionmaker[Session], name: str) -> int:
    """The row id of the default account's job `name`: the lifecycle, like the runtime, names jobs by id."""
    with sessions() as session:
        job = repository.get(session, account_id=ROOT.account_id, name=name)
    assert job is not None
    return job.id


def open_sessions(path: Path) -> tuple[sessionmaker[Session], Any]:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    return make_session_factory(engine), engine


@pytest.fixture
def id_of(sessions: sessionmaker[Session]) -> IdOf:
    return functools.partial(id_in, sessions)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def runtime() -> RecordingRuntime:
    return RecordingRuntime()


@pytest.fixture
def lifecycle(sessions: sessionmaker[Session], clock: FakeClock) -> JobLifecycle:
    return JobLifecycle(sessions=sessions, clock=clock)


@pytest.fixture
def jobs(
    sessions: sessionmaker[Session], lifecycle: JobLifecycle, runtime: RecordingRuntime
) -> TrainingJobService:
    return job_service(sessions, lifecycle, runtime)


def epoch(seconds: float) -> float:
    """A wire timestamp (epoch seconds) `seconds` after the start of the fake clock."""
    return START.timestamp() + seconds


def names(page: dict[str, Any]) -> list[str]:
    return [summary["TrainingJobName"] for summary in page["TrainingJobSummaries"]]


def walk(jobs: TrainingJobService, page_size: int, between_pages: Any = None, **params: Any) -> list[str]:
    """Every name ListTrainingJobs returns, page after page, calling `between_pages()` after each page."""
    seen: list[str] = []
    token = None
    for _ in range(1000):
        request = {**params, "MaxResults": page_size} | ({"NextToken": token} if token else {})
        page = jobs.list(request, caller=ROOT)
        assert len(page["TrainingJobSummaries"]) <= page_size
        seen += names(page)
        token = page.get("NextToken")
        if token is None:
            return seen
        assert len(page["TrainingJobSummaries"]) == page_size, "only the last page may be short"
        if between_pages is not None:
            between_pages()
    raise AssertionError("pagination never ended")


# -- create and describe ------------------------------------------------------------------------------


def test_create_returns_the_arn_and_wakes_the_runtime(
    jobs: TrainingJobService, runtime: RecordingRuntime
) -> None:
    assert jobs.create(create_request("My-Job"), caller=ROOT) == {
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/my-job"
    }
    assert runtime.hints == 1


def test_describe_a_new_job(jobs: TrainingJobService) -> None:
    request = create_request("job-1", HyperParameters={"epochs": "3"})
    jobs.create(request, caller=ROOT)
    described = jobs.describe("job-1", caller=ROOT)
    assert described["TrainingJobName"] == "job-1"
    assert described["TrainingJobArn"] == "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1"
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("InProgress", "Pending")
    assert described["CreationTime"] == described["LastModifiedTime"] == START
    assert described["CreationTime"].tzinfo is not None
    assert described["SecondaryStatusTransitions"] == [
        {
            "Status": "Pending",
            "StartTime": START,
            "StatusMessage": "Waiting for compute capacity: 1 x ml.m5.large",
        }
    ]
    assert described["RoleArn"] == request["RoleArn"]
    assert described["HyperParameters"] == {"epochs": "3"}
    assert described["ResourceConfig"] == request["ResourceConfig"]
    for absent in ("FailureReason", "TrainingStartTime", "TrainingEndTime", "Tags"):
        assert absent not in described
    # botocore's output shape requires it: the path the model will have
    assert described["ModelArtifacts"] == {"S3ModelArtifacts": "s3://bucket/output/job-1/output/model.tar.gz"}


def test_create_fills_in_sagemakers_defaults(jobs: TrainingJobService) -> None:
    channel = {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data"}},
    }
    jobs.create(create_request("job-1", InputDataConfig=[channel]), caller=ROOT)
    described = jobs.describe("job-1", caller=ROOT)
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert described["OutputDataConfig"] == {
        "S3OutputPath": "s3://bucket/output",
        "KmsKeyId": "",
        "CompressionType": "GZIP",
    }
    assert described["HyperParameters"] == {}
    assert described["EnableNetworkIsolation"] is False
    assert described["EnableInterContainerTrafficEncryption"] is False
    assert described["EnableManagedSpotTraining"] is False
    (stored,) = described["InputDataConfig"]
    assert stored["RecordWrapperType"] == "None" and stored["CompressionType"] == "None"
    assert stored["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "FullyReplicated"


def test_given_values_win_over_defaults(jobs: TrainingJobService) -> None:
    jobs.create(
        create_request(
            "job-1",
            StoppingCondition={"MaxRuntimeInSeconds": 60},
            OutputDataConfig={
                "S3OutputPath": "s3://bucket/out",
                "KmsKeyId": "key-1",
                "CompressionType": "NONE",
            },
        ),
        caller=ROOT,
    )
    described = jobs.describe("job-1", caller=ROOT)
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 60}
    assert described["OutputDataConfig"] == {
        "S3OutputPath": "s3://bucket/out",
        "KmsKeyId": "key-1",
        "CompressionType": "NONE",
    }


def test_the_callers_request_is_not_modified(jobs: TrainingJobService) -> None:
    request = create_request("job-1", Tags=[{"Key": "team", "Value": "ml"}])
    before = repr(request)
    jobs.create(request, caller=ROOT)
    assert repr(request) == before


def test_names_are_unique_case_insensitively(jobs: TrainingJobService) -> None:
    jobs.create(create_request("Job-A"), caller=ROOT)
    with pytest.raises(ResourceInUse) as caught:
        jobs.create(create_request("job-a"), caller=ROOT)
    assert "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-a" in caught.value.message
    assert jobs.describe("JOB-A", caller=ROOT)["TrainingJobName"] == "Job-A"
    assert names(jobs.list({}, caller=ROOT)) == ["Job-A"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ResourceConfig": None}, "ResourceConfig is required"),
        (
            {"ResourceConfig": {"InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
            "InstanceCount is required",
        ),
        (
            {"ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 0, "VolumeSizeInGB": 1}},
            "InstanceCount must be at least 1",
        ),
        ({"AlgorithmSpecification": None}, "AlgorithmSpecification is required"),
        (
            {"AlgorithmSpecification": {"TrainingInputMode": "File"}},
            "exactly one of TrainingImage or AlgorithmName",
        ),
        (
            {
                "AlgorithmSpecification": {
                    "TrainingImage": "mlp",
                    "AlgorithmName": "x",
                    "TrainingInputMode": "File",
                }
            },
            "exactly one of TrainingImage or AlgorithmName",
        ),
        ({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}, "Duplicate tag key: a"),
    ],
)
def test_semantic_rules_beyond_the_model(
    jobs: TrainingJobService, overrides: dict[str, Any], message: str
) -> None:
    request = {k: v for k, v in create_request("job-1", **overrides).items() if v is not None}
    with pytest.raises(ValidationError, match=message):
        jobs.create(request, caller=ROOT)
    with pytest.raises(NotFound):
        jobs.describe("job-1", caller=ROOT)


def test_duplicate_channel_names_are_refused(jobs: TrainingJobService) -> None:
    channel = {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data"}},
    }
    with pytest.raises(ValidationError, match="channel names must be unique"):
        jobs.create(create_request("job-1", InputDataConfig=[channel, channel]), caller=ROOT)


def test_admission_sees_the_resources_and_can_refuse_them(
    jobs: TrainingJobService, runtime: RecordingRuntime
) -> None:
    runtime.refuse_over = 2
    jobs.create(create_request("small"), caller=ROOT)
    big = create_request("big")
    big["ResourceConfig"]["InstanceCount"] = 3
    with pytest.raises(ResourceLimitExceeded):
        jobs.create(big, caller=ROOT)
    assert runtime.admitted == [
        ResourceSpec(instance_type="ml.m5.large", instance_count=1, volume_size_gib=1.0),
        ResourceSpec(instance_type="ml.m5.large", instance_count=3, volume_size_gib=1.0),
    ]
    assert names(jobs.list({}, caller=ROOT)) == ["small"]


def test_tags_given_at_create_are_stored_and_owned(
    jobs: TrainingJobService, sessions: sessionmaker[Session]
) -> None:
    arn = jobs.create(create_request("job-1", Tags=[{"Key": "team", "Value": "ml"}]), caller=ROOT)[
        "TrainingJobArn"
    ]
    tags = TagService(sessions=sessions, resource_exists=jobs.owns)
    assert tags.list_tags(arn, caller=ROOT) == {"Tags": [{"Key": "team", "Value": "ml"}]}
    assert jobs.owns(arn, account_id=ROOT.account_id)
    assert not jobs.owns(arn + "-other", account_id=ROOT.account_id)


def test_unknown_jobs_are_not_found(jobs: TrainingJobService, lifecycle: JobLifecycle) -> None:
    for call in (jobs.describe, jobs.stop, jobs.delete):
        with pytest.raises(NotFound) as caught:
            call("nope", caller=ROOT)
        assert caught.value.message == "Requested resource not found."
        assert caught.value.code == "ValidationException"
    assert not lifecycle.transition(999, status=Status.FAILED, secondary=Secondary.FAILED)


# -- the guarded status writer ------------------------------------------------------------------------


def test_transition_stamps_times_and_appends_rows(
    jobs: TrainingJobService, clock: FakeClock, lifecycle: JobLifecycle, id_of: IdOf
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    clock.advance(5)
    assert lifecycle.transition(id_of("job-1"), status=Status.IN_PROGRESS, secondary=Secondary.DOWNLOADING)
    clock.advance(10)
    started = clock()
    assert lifecycle.start_training(id_of("job-1"), at=started)
    clock.advance(100)
    assert lifecycle.transition(id_of("job-1"), status=Status.COMPLETED, secondary=Secondary.COMPLETED)
    described = jobs.describe("job-1", caller=ROOT)
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Completed", "Completed")
    assert described["LastModifiedTime"] == clock()
    assert described["TrainingStartTime"] == started
    assert described["TrainingEndTime"] == clock()
    assert described["TrainingTimeInSeconds"] == 100
    assert [
        (t["Status"], t["StartTime"], t.get("EndTime")) for t in described["SecondaryStatusTransitions"]
    ] == [
        ("Pending", START, START + dt.timedelta(seconds=5)),
        ("Downloading", START + dt.timedelta(seconds=5), started),
        ("Training", started, clock()),
        ("Completed", clock(), clock()),
    ]


def test_transition_refuses_to_leave_a_terminal_state(
    jobs: TrainingJobService, clock: FakeClock, lifecycle: JobLifecycle, id_of: IdOf
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    assert lifecycle.transition(
        id_of("job-1"), status=Status.FAILED, secondary=Secondary.FAILED, failure_reason="boom"
    )
    before = jobs.describe("job-1", caller=ROOT)
    clock.advance(60)
    for status, secondary in [
        (Status.IN_PROGRESS, Secondary.TRAINING),
        (Status.STOPPING, Secondary.STOPPING),
        (Status.COMPLETED, Secondary.COMPLETED),
        (Status.FAILED, Secondary.FAILED),
    ]:
        assert not lifecycle.transition(id_of("job-1"), status=status, secondary=secondary)
    assert jobs.describe("job-1", caller=ROOT) == before


def test_transition_refuses_a_secondary_status_foreign_to_the_primary(
    jobs: TrainingJobService, lifecycle: JobLifecycle, id_of: IdOf
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    before = jobs.describe("job-1", caller=ROOT)
    with pytest.raises(IllegalTransition):
        lifecycle.transition(id_of("job-1"), status=Status.IN_PROGRESS, secondary=Secondary.COMPLETED)
    assert jobs.describe("job-1", caller=ROOT) == before


def another_writer_after_read(
    monkeypatch: pytest.MonkeyPatch, read_number: int, move: Callable[[str], None]
) -> None:
    """Right after the `read_number`-th read of a job (by name or id), another writer calls `move(name)`."""
    real = {reader: getattr(repository, reader) for reader in ("get", "get_by_id")}
    reads = 0

    def reading(reader: str) -> Callable[..., Any]:
        def read(*args: Any, **kwargs: Any) -> Any:
            nonlocal reads
            job = real[reader](*args, **kwargs)
            reads += 1
            if reads == read_number:
                for name, function in real.items():
                    monkeypatch.setattr(repository, name, function)
                move(job.name)
            return job

        return read

    for reader in real:
        monkeypatch.setattr(repository, reader, reading(reader))


def test_transition_loses_a_race_to_another_writer(
    jobs: TrainingJobService, monkeypatch: pytest.MonkeyPatch, lifecycle: JobLifecycle, id_of: IdOf
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)

    def download(name: str) -> None:
        assert lifecycle.transition(id_of(name), status=Status.IN_PROGRESS, secondary=Secondary.DOWNLOADING)

    job_id = id_of("job-1")
    another_writer_after_read(monkeypatch, 1, download)
    assert not lifecycle.transition(job_id, status=Status.IN_PROGRESS, secondary=Secondary.TRAINING)
    described = jobs.describe("job-1", caller=ROOT)
    assert described["SecondaryStatus"] == "Downloading"
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == ["Pending", "Downloading"]


def test_compare_and_set_checks_both_statuses(
    jobs: TrainingJobService, sessions: sessionmaker[Session]
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    job_id = id_in(sessions, "job-1")
    with sessions.begin() as session:
        stale = ("InProgress", "Downloading")
        assert not repository.compare_and_set(
            session, job_id=job_id, expected=stale, values={"status": "Failed"}
        )
        current = ("InProgress", "Pending")
        assert repository.compare_and_set(
            session, job_id=job_id, expected=current, values={"status": "Stopping"}
        )
    assert jobs.describe("job-1", caller=ROOT)["TrainingJobStatus"] == "Stopping"


def test_failure_reasons_are_cut_to_1024_characters(
    jobs: TrainingJobService, lifecycle: JobLifecycle, id_of: IdOf
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    reason = "AlgorithmError: " + "x" * 2000
    assert lifecycle.transition(
        id_of("job-1"), status=Status.FAILED, secondary=Secondary.FAILED, failure_reason=reason
    )
    assert jobs.describe("job-1", caller=ROOT)["FailureReason"] == reason[:1024]


# -- stop and delete ----------------------------------------------------------------------------------


def test_stop_of_a_queued_job_ends_at_once(
    jobs: TrainingJobService, clock: FakeClock, runtime: RecordingRuntime
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    clock.advance(30)
    jobs.stop("job-1", caller=ROOT)
    described = jobs.describe("job-1", caller=ROOT)
    assert runtime.stops == [], "a queued job holds no VM: no run is asked"
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert described["TrainingEndTime"] == described["LastModifiedTime"] == clock()
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == [
        "Pending",
        "Stopping",
        "Stopped",
    ]
    assert all("EndTime" in t for t in described["SecondaryStatusTransitions"])


def test_stop_of_a_claimed_job_waits_in_stopping_for_its_run(
    jobs: TrainingJobService,
    runtime: RecordingRuntime,
    sessions: sessionmaker[Session],
    lifecycle: JobLifecycle,
    id_of: IdOf,
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    claim(sessions, lifecycle, "job-1")
    jobs.stop("job-1", caller=ROOT)
    described = jobs.describe("job-1", caller=ROOT)
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopping", "Stopping")
    assert "TrainingEndTime" not in described
    with pytest.raises(ValidationError, match="cannot be stopped: its status is Stopping"):
        jobs.stop("job-1", caller=ROOT)
    assert runtime.stops == [id_of("job-1")]
    # The run finishes the stop itself.
    assert lifecycle.transition(id_of("job-1"), status=Status.STOPPED, secondary=Secondary.STOPPED)
    assert jobs.describe("job-1", caller=ROOT)["TrainingJobStatus"] == "Stopped"


@pytest.mark.parametrize(
    ("status", "secondary"),
    [(Status.COMPLETED, Secondary.COMPLETED), (Status.FAILED, Secondary.FAILED)],
)
def test_stop_of_a_finished_job_names_its_status(
    jobs: TrainingJobService,
    runtime: RecordingRuntime,
    status: Status,
    secondary: Secondary,
    lifecycle: JobLifecycle,
    id_of: IdOf,
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    assert lifecycle.transition(id_of("job-1"), status=status, secondary=secondary)
    with pytest.raises(ValidationError) as caught:
        jobs.stop("job-1", caller=ROOT)
    assert caught.value.message == f"The training job job-1 cannot be stopped: its status is {status}."
    assert runtime.stops == []
    assert jobs.describe("job-1", caller=ROOT)["TrainingJobStatus"] == status


def test_stop_retries_when_the_job_moves_on_meanwhile(
    jobs: TrainingJobService,
    monkeypatch: pytest.MonkeyPatch,
    lifecycle: JobLifecycle,
    runtime: RecordingRuntime,
    id_of: IdOf,
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)

    def download(name: str) -> None:
        assert lifecycle.transition(id_of(name), status=Status.IN_PROGRESS, secondary=Secondary.DOWNLOADING)

    # Right after the stop's first look, the job's run moves it on: the compare-and-set fails, and the
    # stop decides again from the job as it now is (running: Stopping, and its run is asked to stop).
    another_writer_after_read(monkeypatch, 1, download)
    jobs.stop("job-1", caller=ROOT)
    described = jobs.describe("job-1", caller=ROOT)
    assert described["TrainingJobStatus"] == "Stopping"
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == [
        "Pending",
        "Downloading",
        "Stopping",
    ]
    assert runtime.stops == [id_of("job-1")]


def test_stop_that_loses_a_race_to_the_end_of_the_job_names_its_status(
    jobs: TrainingJobService,
    monkeypatch: pytest.MonkeyPatch,
    runtime: RecordingRuntime,
    lifecycle: JobLifecycle,
    id_of: IdOf,
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)

    def complete(name: str) -> None:
        assert lifecycle.transition(id_of(name), status=Status.COMPLETED, secondary=Secondary.COMPLETED)

    another_writer_after_read(monkeypatch, 1, complete)
    with pytest.raises(ValidationError, match="cannot be stopped: its status is Completed"):
        jobs.stop("job-1", caller=ROOT)
    assert jobs.describe("job-1", caller=ROOT)["TrainingJobStatus"] == "Completed"
    assert runtime.stops == []


@pytest.mark.parametrize("claimed", [False, True])
def test_delete_refuses_unfinished_jobs(
    jobs: TrainingJobService, sessions: sessionmaker[Session], lifecycle: JobLifecycle, claimed: bool
) -> None:
    jobs.create(create_request("job-1"), caller=ROOT)
    if claimed:
        claim(sessions, lifecycle, "job-1")
    with pytest.raises(ResourceInUse, match="job-1 is InProgress"):
        jobs.delete("job-1", caller=ROOT)
    if claimed:
        jobs.stop("job-1", caller=ROOT)
        with pytest.raises(ResourceInUse, match="job-1 is Stopping"):
            jobs.delete("job-1", caller=ROOT)
    assert jobs.describe("job-1", caller=ROOT)["TrainingJobName"] == "job-1"


@pytest.mark.parametrize("finish", ["Completed", "Failed", "Stopped"])
def test_delete_removes_a_finished_job_and_its_tags(
    jobs: TrainingJobService,
    sessions: sessionmaker[Session],
    finish: str,
    lifecycle: JobLifecycle,
    id_of: IdOf,
) -> None:
    arn = jobs.create(create_request("job-1", Tags=[{"Key": "k", "Value": "v"}]), caller=ROOT)[
        "TrainingJobArn"
    ]
    jobs.create(create_request("job-2", Tags=[{"Key": "k", "Value": "v"}]), caller=ROOT)
    if finish == "Stopped":
        jobs.stop("job-1", caller=ROOT)  # queued, so no VM: Stopped at once
    else:
        assert lifecycle.transition(id_of("job-1"), status=Status(finish), secondary=Secondary(finish))
    assert jobs.describe("job-1", caller=ROOT)["TrainingJobStatus"] == finish
    jobs.delete("job-1", caller=ROOT)
    with pytest.raises(NotFound):
        jobs.describe("job-1", caller=ROOT)
    assert not jobs.owns(arn, account_id=ROOT.account_id)
    with sessions() as session:
        assert [t.resource_arn for t in session.scalars(select(Tag))] == [arn.replace("job-1", "job-2")]
    with pytest.raises(NotFound):
        jobs.delete("job-1", caller=ROOT)
    jobs.create(create_request("JOB-1"), caller=ROOT)  # the name is free again
    assert names(jobs.list({}, caller=ROOT)) == ["job-2", "JOB-1"]


# -- list: filters, sorting, pagination ----------------------------------------------------------------


@pytest.fixture
def populated(
    jobs: TrainingJobService, lifecycle: JobLifecycle, clock: FakeClock, id_of: IdOf
) -> TrainingJobService:
    """Five jobs a minute apart: alpha Completed, Beta Failed, gamma InProgress, delta Stopped, eps."""
    for name in ("alpha", "Beta", "gamma", "delta", "eps"):
        jobs.create(create_request(name), caller=ROOT)
        clock.advance(60)
    assert lifecycle.transition(id_of("alpha"), status=Status.COMPLETED, secondary=Secondary.COMPLETED)
    clock.advance(60)
    assert lifecycle.transition(id_of("Beta"), status=Status.FAILED, secondary=Secondary.FAILED)
    clock.advance(60)
    jobs.stop("delta", caller=ROOT)
    return jobs


def test_list_defaults_to_creation_time_ascending(populated: TrainingJobService) -> None:
    page = populated.list({}, caller=ROOT)
    assert names(page) == ["alpha", "Beta", "gamma", "delta", "eps"]
    assert "NextToken" not in page
    first = page["TrainingJobSummaries"][0]
    assert first == {
        "TrainingJobName": "alpha",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/alpha",
        "CreationTime": START,
        "LastModifiedTime": START + dt.timedelta(seconds=300),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "TrainingEndTime": START + dt.timedelta(seconds=300),
    }
    assert "TrainingEndTime" not in page["TrainingJobSummaries"][2]


def test_list_returns_ten_by_default(jobs: TrainingJobService) -> None:
    for i in range(11):
        jobs.create(create_request(f"job-{i:02d}"), caller=ROOT)
    page = jobs.list({}, caller=ROOT)
    assert len(page["TrainingJobSummaries"]) == 10 and "NextToken" in page
    assert names(jobs.list({"NextToken": page["NextToken"]}, caller=ROOT)) == ["job-10"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"NameContains": "a"}, ["alpha", "Beta", "gamma", "delta"]),
        ({"NameContains": "BET"}, ["Beta"]),
        ({"NameContains": "zzz"}, []),
        ({"StatusEquals": "InProgress"}, ["gamma", "eps"]),
        ({"StatusEquals": "Stopped"}, ["delta"]),
        ({"StatusEquals": "Stopping"}, []),
        ({"CreationTimeAfter": epoch(60)}, ["gamma", "delta", "eps"]),
        ({"CreationTimeBefore": epoch(120)}, ["alpha", "Beta"]),
        (
            {"CreationTimeAfter": START.timestamp() + 59, "CreationTimeBefore": "2026-01-01T00:02:01Z"},
            ["Beta", "gamma"],
        ),
        ({"LastModifiedTimeAfter": epoch(299)}, ["alpha", "Beta", "delta"]),
        ({"LastModifiedTimeBefore": epoch(300)}, ["gamma", "eps"]),
        ({"LastModifiedTimeAfter": "2026-01-01T00:05:30+00:00"}, ["Beta", "delta"]),
        ({"NameContains": "e", "StatusEquals": "InProgress"}, ["eps"]),
    ],
)
def test_list_filters(populated: TrainingJobService, params: dict[str, Any], expected: list[str]) -> None:
    assert names(populated.list(params, caller=ROOT)) == expected


@pytest.mark.parametrize(
    ("sort_by", "ascending"),
    [
        ("Name", ["Beta", "alpha", "delta", "eps", "gamma"]),
        ("CreationTime", ["alpha", "Beta", "gamma", "delta", "eps"]),
        ("Status", ["alpha", "Beta", "gamma", "eps", "delta"]),
    ],
)
def test_list_sorts(populated: TrainingJobService, sort_by: str, ascending: list[str]) -> None:
    assert names(populated.list({"SortBy": sort_by}, caller=ROOT)) == ascending
    assert names(populated.list({"SortBy": sort_by, "SortOrder": "Ascending"}, caller=ROOT)) == ascending
    assert (
        names(populated.list({"SortBy": sort_by, "SortOrder": "Descending"}, caller=ROOT)) == ascending[::-1]
    )


def test_a_token_only_serves_the_filters_it_was_issued_for(populated: TrainingJobService) -> None:
    token = populated.list({"MaxResults": 2, "SortBy": "Name"}, caller=ROOT)["NextToken"]
    with pytest.raises(ValidationError, match="does not match"):
        populated.list({"MaxResults": 2, "SortBy": "Status", "NextToken": token}, caller=ROOT)
    with pytest.raises(ValidationError, match="does not match"):
        populated.list(
            {"MaxResults": 2, "SortBy": "Name", "NameContains": "a", "NextToken": token}, caller=ROOT
        )
    # MaxResults may change between pages.
    assert names(populated.list({"MaxResults": 5, "SortBy": "Name", "NextToken": token}, caller=ROOT)) == [
        "delta",
        "eps",
        "gamma",
    ]
    with pytest.raises(ValidationError, match="Invalid pagination token"):
        populated.list({"NextToken": "garbage"}, caller=ROOT)


# 250 jobs: creation times repeat (the clock moves every third job), names are not in creation order,
# and every status occurs, so each sort needs its id tie-break.


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrainingJobService, dict[str, tuple]]]:
    factory, engine = open_sessions(tmp_path_factory.mktemp("many") / "jobs.db")
    clock = FakeClock(START)
    lifecycle = JobLifecycle(sessions=factory, clock=clock)
    jobs = job_service(factory, lifecycle, RecordingRuntime())
    keys: dict[str, tuple] = {}
    for i in range(250):
        name = f"{'bAc'[i % 3]}job-{(i * 7) % 250:03d}"
        jobs.create(create_request(name), caller=ROOT)
        created = clock()
        if i % 3 == 2:
            clock.advance(1)
        outcome = i % 5
        if outcome == 1:
            lifecycle.transition(id_in(factory, name), status=Status.COMPLETED, secondary=Secondary.COMPLETED)
        elif outcome == 2:
            lifecycle.transition(id_in(factory, name), status=Status.FAILED, secondary=Secondary.FAILED)
        elif outcome == 3:
            jobs.stop(name, caller=ROOT)
        elif outcome == 4:
            lifecycle.transition(id_in(factory, name), status=Status.STOPPING, secondary=Secondary.STOPPING)
        status = jobs.describe(name, caller=ROOT)["TrainingJobStatus"]
        keys[name] = (name, created, status, i)
    yield jobs, keys
    engine.dispose()


SORTS = {"Name": 0, "CreationTime": 1, "Status": 2}


WALKS = [
    (sort_by, order, page_size)
    for sort_by in sorted(SORTS)
    for order in ("Ascending", "Descending")
    for page_size in (7, 100)
] + [("CreationTime", "Ascending", 1)]


@pytest.mark.parametrize(("sort_by", "order", "page_size"), WALKS)
def test_walking_250_jobs_sees_each_once_in_order(
    many: tuple[TrainingJobService, dict[str, tuple]], page_size: int, sort_by: str, order: str
) -> None:
    jobs, keys = many
    column = SORTS[sort_by]
    expected = sorted(keys, key=lambda n: (keys[n][column], keys[n][3]), reverse=order == "Descending")
    assert walk(jobs, page_size, SortBy=sort_by, SortOrder=order) == expected
    assert {keys[n][2] for n in keys} == set(STATUSES)


def test_walking_with_a_filter(many: tuple[TrainingJobService, dict[str, tuple]]) -> None:
    jobs, keys = many
    expected = sorted((n for n in keys if keys[n][2] == "Failed" and "A" in n), key=lambda n: (n, keys[n][3]))
    assert walk(jobs, 3, SortBy="Name", StatusEquals="Failed", NameContains="a") == expected
    assert len(expected) > 6


@pytest.mark.parametrize("sort_by", sorted(SORTS))
@pytest.mark.parametrize("order", ["Ascending", "Descending"])
@pytest.mark.parametrize("new_jobs_created", ["later", "at the start"])
def test_inserts_between_pages_cause_no_duplicates_or_gaps(
    tmp_path: Path, sort_by: str, order: str, new_jobs_created: str
) -> None:
    factory, engine = open_sessions(tmp_path / "jobs.db")
    clock = FakeClock(START)
    jobs = job_service(factory, JobLifecycle(sessions=factory, clock=clock), RecordingRuntime())
    original = [f"{'zam'[i % 3]}{i:03d}" for i in range(250)]
    for i, name in enumerate(original):
        jobs.create(create_request(name), caller=ROOT)
        if i % 10 == 9:  # ten jobs share each creation time
            clock.advance(1)
    added: list[str] = []

    def insert_more() -> None:
        if new_jobs_created == "at the start":
            clock.now = START  # ties with the first jobs' creation time, larger ids
        for _ in range(3):
            # New names sort before, inside and after the original names.
            name = f"{'Nzb'[len(added) % 3]}new{len(added):03d}"
            jobs.create(create_request(name), caller=ROOT)
            added.append(name)
            clock.advance(1)
        jobs.stop(added[-1], caller=ROOT)

    try:
        seen = walk(jobs, 40, insert_more, SortBy=sort_by, SortOrder=order)
    finally:
        engine.dispose()
    assert len(seen) == len(set(seen)), "a job appeared twice"
    assert set(original) <= set(seen), f"skipped {sorted(set(original) - set(seen))}"
    assert set(seen) <= set(original) | set(added)
    if sort_by == "Name":
        assert seen == sorted(seen, reverse=order == "Descending")
