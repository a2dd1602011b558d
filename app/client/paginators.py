"""Paginators as botocore's: pages of an operation, `PaginationConfig` (MaxItems, PageSize, StartingToken),
resume tokens that can stop mid-page, and `build_full_result()`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from app.client.errors import PaginationError

Operation = Callable[..., dict[str, Any]]
TRUNCATE = "boto_truncate_amount"


@dataclass(frozen=True)
class PaginatorModel:
    operation: str
    input_token: str
    output_token: str
    limit_key: str
    result_key: str


# botocore's sagemaker paginators-1.json.
MODELS = {
    "list_training_jobs": PaginatorModel(
        "list_training_jobs", "NextToken", "NextToken", "MaxResults", "TrainingJobSummaries"
    ),
    "list_tags": PaginatorModel("list_tags", "NextToken", "NextToken", "MaxResults", "Tags"),
    "list_hyper_parameter_tuning_jobs": PaginatorModel(
        "list_hyper_parameter_tuning_jobs",
        "NextToken",
        "NextToken",
        "MaxResults",
        "HyperParameterTuningJobSummaries",
    ),
    "list_training_jobs_for_hyper_parameter_tuning_job": PaginatorModel(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        "NextToken",
        "NextToken",
        "MaxResults",
        "TrainingJobSummaries",
    ),
}


def encode_token(token: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(token).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(token.encode()).decode())
    return decoded


class Paginator:
    def __init__(self, model: PaginatorModel, operation: Operation) -> None:
        self._model = model
        self._operation = operation

    def paginate(self, **kwargs: Any) -> PageIterator:
        config = kwargs.pop("PaginationConfig", None) or {}
        return PageIterator(
            self._model,
            self._operation,
            kwargs,
            max_items=None if config.get("MaxItems") is None else int(config["MaxItems"]),
            page_size=config.get("PageSize"),
            starting_token=config.get("StartingToken"),
        )


class PageIterator:
    def __init__(
        self,
        model: PaginatorModel,
        operation: Operation,
        kwargs: dict[str, Any],
        *,
        max_items: int | None,
        page_size: int | None,
        starting_token: str | None,
    ) -> None:
        self._model = model
        self._operation = operation
        self._kwargs = dict(kwargs)
        self._max_items = max_items
        self._page_size = page_size
        self._start: dict[str, Any] = {model.input_token: None}
        self._skip = 0
        if starting_token is not None:
            self._start = decode_token(starting_token)
            self._skip = int(self._start.pop(TRUNCATE, 0))
        self.resume_token: str | None = None

    @property
    def result_keys(self) -> list[str]:
        return [self._model.result_key]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        model, kwargs = self._model, dict(self._kwargs)
        token = dict(self._start)
        _inject(kwargs, token)
        if self._page_size is not None:
            kwargs[model.limit_key] = self._page_size
        total, first, previous = 0, True, None
        while True:
            page = self._operation(**kwargs)
            skip = self._skip if first else 0
            items = page.get(model.result_key) or []
            if first and self._skip:
                items = page[model.result_key] = items[skip:]
            first = False
            excess = 0 if self._max_items is None else total + len(items) - self._max_items
            if excess > 0:
                page[model.result_key] = items[: len(items) - excess]
                self.resume_token = encode_token({**token, TRUNCATE: len(items) - excess + skip})
                yield page
                return
            yield page
            total += len(items)
            token = {model.input_token: page.get(model.output_token) or None}
            if token[model.input_token] is None:
                return
            if self._max_items is not None and total == self._max_items:
                self.resume_token = encode_token(token)
                return
            if previous == token:
                raise PaginationError(f"The same next token was received twice: {token}")
            _inject(kwargs, token)
            previous = token

    def build_full_result(self) -> dict[str, Any]:
        """Every page's results in one list, plus `NextToken` (a resume token) when MaxItems cut it short."""
        items: list[Any] = []
        seen = False
        for page in self:
            if self._model.result_key in page:
                seen = True
                items.extend(page[self._model.result_key])
        result: dict[str, Any] = {self._model.result_key: items} if seen else {}
        if self.resume_token is not None:
            result["NextToken"] = self.resume_token
        return result


def _inject(kwargs: dict[str, Any], token: dict[str, Any]) -> None:
    for name, value in token.items():
        if value is None or value == "None":
            kwargs.pop(name, None)
        else:
            kwargs[name] = value
