"""The client's tuning-job waiter (botocore has none): which statuses end it, and how."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.client import ClientError, SageMakerClient, WaiterError, waiters

NOT_FOUND = {"Error": {"Code": "ValidationException", "Message": "Requested resource not found."}}


def _describe(*answers: str | dict[str, Any]) -> Callable[..., dict[str, Any]]:
    replies: Iterator[str | dict[str, Any]] = iter(answers)

    def describe(**kwargs: Any) -> dict[str, Any]:
        answer = next(replies)
        if isinstance(answer, dict):
            raise ClientError({**answer, "ResponseMetadata": {}}, "DescribeHyperParameterTuningJob")
        return {
            "HyperParameterTuningJobName": kwargs["HyperParameterTuningJobName"],
            "HyperParameterTuningJobStatus": answer,
        }

    return describe


def _wait(*answers: str | dict[str, Any], slept: list[float] | None = None) -> str:
    slept = [] if slept is None else slept
    waiter = waiters.Waiter(waiters.TUNING_JOB_COMPLETED_OR_STOPPED, _describe(*answers), sleep=slept.append)
    try:
        waiter.wait(HyperParameterTuningJobName="t", WaiterConfig={"MaxAttempts": 4})
    except WaiterError as error:
        return str(error)
    return "success"


@pytest.mark.parametrize(
    ("answers", "outcome"),
    [
        (("InProgress", "Stopping", "Stopped"), "success"),
        (("InProgress", "Completed"), "success"),
        (("InProgress", "Failed"), "terminal failure state"),
        ((NOT_FOUND,), "terminal failure state"),
        (("InProgress",) * 5, "Max attempts exceeded"),
    ],
)
def test_the_tuning_waiter_ends_on_an_ended_tuning_job(answers: tuple[Any, ...], outcome: str) -> None:
    assert outcome in _wait(*answers)


def test_the_tuning_waiter_polls_every_minute_by_default() -> None:
    slept: list[float] = []
    assert _wait("InProgress", "InProgress", "Completed", slept=slept) == "success"
    assert slept == [60, 60]


def test_the_client_offers_it_by_name() -> None:
    client = SageMakerClient(aws_access_key_id="k", aws_secret_access_key="s")
    assert "hyper_parameter_tuning_job_completed_or_stopped" in client.waiter_names
    waiter = client.get_waiter("hyper_parameter_tuning_job_completed_or_stopped")
    assert waiter.name == "HyperParameterTuningJobCompletedOrStopped"
    assert client.can_paginate("list_training_jobs_for_hyper_parameter_tuning_job")
    assert client.can_paginate("list_hyper_parameter_tuning_jobs")
    client.close()
