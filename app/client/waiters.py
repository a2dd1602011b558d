"""Waiters as botocore runs them: poll an operation, match acceptors, succeed, fail or give up."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.client.errors import ClientError, WaiterError

Operation = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Acceptor:
    state: str  # success | failure | retry
    matcher: str  # path | error
    expected: str
    argument: str = ""

    def matches(self, response: dict[str, Any]) -> bool:
        if self.matcher == "error":
            return bool(response.get("Error", {}).get("Code") == self.expected)
        return "Error" not in response and response.get(self.argument) == self.expected

    @property
    def explanation(self) -> str:
        if self.matcher == "error":
            return f"Matched expected service error code: {self.expected}"
        return f'For expression "{self.argument}" we matched expected path: "{self.expected}"'


@dataclass(frozen=True)
class WaiterModel:
    name: str
    operation: str
    delay: float
    max_attempts: int
    acceptors: tuple[Acceptor, ...]


# botocore's sagemaker waiters-2.json, TrainingJobCompletedOrStopped.
TRAINING_JOB_COMPLETED_OR_STOPPED = WaiterModel(
    name="TrainingJobCompletedOrStopped",
    operation="describe_training_job",
    delay=120,
    max_attempts=180,
    acceptors=(
        Acceptor("success", "path", "Completed", "TrainingJobStatus"),
        Acceptor("success", "path", "Stopped", "TrainingJobStatus"),
        Acceptor("failure", "path", "Failed", "TrainingJobStatus"),
        Acceptor("failure", "error", "ValidationException"),
    ),
)
# Ours: botocore has none for tuning jobs. Shaped like the one above; a tuning job runs many training
# jobs, so it polls more often (a minute's wait at most past the end) and for up to a day.
TUNING_JOB_COMPLETED_OR_STOPPED = WaiterModel(
    name="HyperParameterTuningJobCompletedOrStopped",
    operation="describe_hyper_parameter_tuning_job",
    delay=60,
    max_attempts=1440,
    acceptors=(
        Acceptor("success", "path", "Completed", "HyperParameterTuningJobStatus"),
        Acceptor("success", "path", "Stopped", "HyperParameterTuningJobStatus"),
        Acceptor("failure", "path", "Failed", "HyperParameterTuningJobStatus"),
        Acceptor("failure", "error", "ValidationException"),
    ),
)
MODELS = {
    "training_job_completed_or_stopped": TRAINING_JOB_COMPLETED_OR_STOPPED,
    "hyper_parameter_tuning_job_completed_or_stopped": TUNING_JOB_COMPLETED_OR_STOPPED,
}


class Waiter:
    def __init__(
        self, model: WaiterModel, operation: Operation, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.name = model.name
        self.config = model
        self._operation = operation
        self._sleep = sleep

    def wait(self, **kwargs: Any) -> None:
        """Poll until an acceptor says success (return) or failure (WaiterError); `WaiterConfig` may set
        `Delay` (seconds) and `MaxAttempts`."""
        config = kwargs.pop("WaiterConfig", None) or {}
        delay = config.get("Delay", self.config.delay)
        max_attempts = config.get("MaxAttempts", self.config.max_attempts)
        attempts, state, matched = 0, "waiting", None
        while True:
            response = self._call(kwargs)
            attempts += 1
            acceptor = next((a for a in self.config.acceptors if a.matches(response)), None)
            if acceptor is not None:
                matched, state = acceptor, acceptor.state
            elif "Error" in response:
                error = response["Error"]
                reason = (
                    f"An error occurred ({error.get('Code', 'Unknown')}): {error.get('Message', 'Unknown')}"
                )
                raise WaiterError(self.name, reason, response)
            if state == "success":
                return
            if state == "failure":
                assert matched is not None
                reason = f"Waiter encountered a terminal failure state: {matched.explanation}"
                raise WaiterError(self.name, reason, response)
            if attempts >= max_attempts:
                reason = "Max attempts exceeded"
                if matched is not None:
                    reason += f". Previously accepted state: {matched.explanation}"
                raise WaiterError(self.name, reason, response)
            self._sleep(delay)

    def _call(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The response, or the error response of a ClientError (which acceptors may match)."""
        try:
            return self._operation(**kwargs)
        except ClientError as error:
            return error.response
