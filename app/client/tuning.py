"""The hyperparameter tuning operations as client methods, taking and returning what boto3's do.

botocore ships no waiter for tuning jobs; `waiters.TUNING_JOB_COMPLETED_OR_STOPPED` is ours, shaped like
its training-job one (`get_waiter("hyper_parameter_tuning_job_completed_or_stopped")`).
"""

from __future__ import annotations

from typing import Any, Protocol


class _Caller(Protocol):
    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]: ...


class TuningMethods:
    """Mixed into `SageMakerClient`: the six tuning operations over `POST /`."""

    def create_hyper_parameter_tuning_job(self: _Caller, **kwargs: Any) -> dict[str, Any]:
        return self._call("CreateHyperParameterTuningJob", kwargs)

    def describe_hyper_parameter_tuning_job(self: _Caller, **kwargs: Any) -> dict[str, Any]:
        return self._call("DescribeHyperParameterTuningJob", kwargs)

    def list_hyper_parameter_tuning_jobs(self: _Caller, **kwargs: Any) -> dict[str, Any]:
        return self._call("ListHyperParameterTuningJobs", kwargs)

    def list_training_jobs_for_hyper_parameter_tuning_job(self: _Caller, **kwargs: Any) -> dict[str, Any]:
        return self._call("ListTrainingJobsForHyperParameterTuningJob", kwargs)

    def stop_hyper_parameter_tuning_job(self: _Caller, **kwargs: Any) -> dict[str, Any]:
        return self._call("StopHyperParameterTuningJob", kwargs)

    def delete_hyper_parameter_tuning_job(self: _Caller, **kwargs: Any) -> dict[str, Any]:
        return self._call("DeleteHyperParameterTuningJob", kwargs)
