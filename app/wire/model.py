"""Loads botocore's service models (SageMaker's, and the other services served on the port) once each;
they are the single source of names and constraints."""

from __future__ import annotations

import functools
from typing import Any

import botocore.session

# The operations this service implements, by their wire names.
OPERATIONS = frozenset(
    {
        "CreateTrainingJob",
        "DescribeTrainingJob",
        "ListTrainingJobs",
        "StopTrainingJob",
        "DeleteTrainingJob",
        "AddTags",
        "ListTags",
        "DeleteTags",
    }
)


@functools.cache
def service_model(service: str = "sagemaker") -> Any:
    """botocore.model.ServiceModel of the service (cached: parsing SageMaker's takes ~100 ms)."""
    return botocore.session.get_session().get_service_model(service)


def input_shape(operation: str, *, service: str = "sagemaker") -> Any:
    return service_model(service).operation_model(operation).input_shape


def enum_values(shape_name: str) -> list[str]:
    return list(service_model().shape_for(shape_name).enum)
