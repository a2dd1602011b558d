"""The client's waiter and paginator against botocore's own, fed the same responses by a fake operation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest
from botocore import paginate as bc_paginate
from botocore import waiter as bc_waiter
from botocore.exceptions import WaiterError as BotocoreWaiterError

from app.client import ClientError, WaiterError, paginators, waiters

SESSION = botocore.session.get_session()
NOT_FOUND = {"Error": {"Code": "ValidationException", "Message": "Requested resource not found."}}
THROTTLED = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}


def _responses(*statuses: str | dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """An operation answering each status in turn (an error dict is raised as boto3 would)."""
    answers: Iterator[str | dict[str, Any]] = iter(statuses)

    def describe(**kwargs: Any) -> dict[str, Any]:
        answer = next(answers)
        if isinstance(answer, dict):
            raise ClientError({**answer, "ResponseMetadata": {}}, "DescribeTrainingJob")
        return {"TrainingJobName": kwargs["TrainingJobName"], "TrainingJobStatus": answer}

    return describe


def _botocore_waiter(operation: Callable[..., dict[str, Any]]) -> bc_waiter.Waiter:
    config = SESSION.get_waiter_model("sagemaker").get_waiter("TrainingJobCompletedOrStopped")

    def normalized(**kwargs: Any) -> dict[str, Any]:
        try:
            return operation(**kwargs)
        except ClientError as error:
            return error.response

    return bc_waiter.Waiter("TrainingJobCompletedOrStopped", config, normalized)


def _outcome(wait: Callable[..., None]) -> str:
    try:
        wait(TrainingJobName="j", WaiterConfig={"Delay": 0, "MaxAttempts": 3})
    except (WaiterError, BotocoreWaiterError) as error:
        return f"{type(error).__name__}: {error}"
    return "success"


SEQUENCES = {
    "completed": ("InProgress", "InProgress", "Completed"),
    "stopped": ("InProgress", "Stopped"),
    "failed": ("InProgress", "Failed"),
    "unknown job": (NOT_FOUND,),
    "other error": ("InProgress", THROTTLED),
    "max attempts": ("InProgress", "InProgress", "InProgress", "Completed"),
}


@pytest.mark.parametrize("sequence", SEQUENCES.values(), ids=SEQUENCES.keys())
def test_waiter_ends_as_botocores(sequence: tuple[Any, ...]) -> None:
    ours = waiters.Waiter(waiters.TRAINING_JOB_COMPLETED_OR_STOPPED, _responses(*sequence))
    theirs = _botocore_waiter(_responses(*sequence))
    assert _outcome(ours.wait) == _outcome(theirs.wait)


def test_waiter_error_carries_the_last_response() -> None:
    waiter = waiters.Waiter(waiters.TRAINING_JOB_COMPLETED_OR_STOPPED, _responses("Failed"))
    with pytest.raises(WaiterError) as caught:
        waiter.wait(TrainingJobName="j", WaiterConfig={"Delay": 0})
    assert caught.value.last_response["TrainingJobStatus"] == "Failed"
    assert caught.value.name == "TrainingJobCompletedOrStopped"


def test_waiter_sleeps_delay_between_attempts() -> None:
    slept: list[float] = []
    waiter = waiters.Waiter(
        waiters.TRAINING_JOB_COMPLETED_OR_STOPPED, _responses("InProgress", "Completed"), sleep=slept.append
    )
    waiter.wait(TrainingJobName="j", WaiterConfig={"Delay": 7})
    assert slept == [7]


# -- paginators -----------------------------------------------------------------------------------

NAMES = [f"job-{i:02d}" for i in range(11)]


def _list_jobs(**kwargs: Any) -> dict[str, Any]:
    """ListTrainingJobs over NAMES with MaxResults (default 4) and integer-offset NextTokens."""
    start = int(kwargs.get("NextToken", "0"))
    size = kwargs.get("MaxResults", 4)
    page: dict[str, Any] = {
        "TrainingJobSummaries": [{"TrainingJobName": n} for n in NAMES[start : start + size]]
    }
    if start + size < len(NAMES):
        page["NextToken"] = str(start + size)
    return page


def _botocore_pages(**kwargs: Any) -> bc_paginate.PageIterator:
    config = SESSION.get_paginator_model("sagemaker").get_paginator("ListTrainingJobs")
    model = SESSION.get_service_model("sagemaker").operation_model("ListTrainingJobs")
    return bc_paginate.Paginator(_list_jobs, config, model).paginate(**kwargs)


def _ours(**kwargs: Any) -> paginators.PageIterator:
    return paginators.Paginator(paginators.MODELS["list_training_jobs"], _list_jobs).paginate(**kwargs)


CONFIGS = {
    "all": {},
    "page size": {"PageSize": 3},
    "max items on a page boundary": {"MaxItems": 8},
    "max items mid-page": {"MaxItems": 6, "PageSize": 4},
    "max items beyond the end": {"MaxItems": 50},
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_paginator_pages_and_resume_tokens_match_botocore(config: dict[str, Any]) -> None:
    ours, theirs = _ours(PaginationConfig=config), _botocore_pages(PaginationConfig=config)
    assert list(ours) == list(theirs)
    assert ours.resume_token == theirs.resume_token
    assert (
        _ours(PaginationConfig=config).build_full_result()
        == _botocore_pages(PaginationConfig=config).build_full_result()
    )


def test_paginator_resumes_from_a_mid_page_token_as_botocore() -> None:
    first = _botocore_pages(PaginationConfig={"MaxItems": 6, "PageSize": 4}).build_full_result()
    token = first["NextToken"]
    for config in ({"StartingToken": token}, {"StartingToken": token, "MaxItems": 3, "PageSize": 4}):
        ours, theirs = _ours(PaginationConfig=config), _botocore_pages(PaginationConfig=config)
        assert list(ours) == list(theirs)
        assert ours.resume_token == theirs.resume_token
    names = [
        s["TrainingJobName"]
        for s in _ours(PaginationConfig={"StartingToken": token}).build_full_result()["TrainingJobSummaries"]
    ]
    assert names == NAMES[6:]
