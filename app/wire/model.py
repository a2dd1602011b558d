"""Loads botocore's service models once (SageMaker's by default); they are the single source of names and
constraints of every AWS JSON service this server speaks."""

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


SAGEMAKER = "sagemaker"


@functools.cache
def service_model(service: str = SAGEMAKER) -> Any:
    """botocore.model.ServiceModel of `service` (`sagemaker`, `logs`, `cloudwatch`), cached: parsing
    one takes ~100 ms."""
    return botocore.session.get_session().get_service_model(service)


def input_shape(operation: str, *, service: str = SAGEMAKER) -> Any:
    return service_model(service).operation_model(operation).input_shape


def enum_values(shape_name: str) -> list[str]:
    return list(service_model().shape_for(shape_name).enum)
