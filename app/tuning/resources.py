"""A training job definition's instances: `ResourceConfig`, or `HyperParameterTuningResourceConfig`.

The SageMaker SDK's `HyperparameterTuner` always sends the latter, with one instance type (its
`InstanceType`, `InstanceCount` and `VolumeSizeInGB` are the estimator's): that form says no more than a
`ResourceConfig` does, so each trial gets it as its `ResourceConfig`. A list of several instance types
(`InstanceConfigs`, and `AllocationStrategy` over them) is refused by name: trials take one type here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.errors import ValidationError

TUNING_RESOURCES = "HyperParameterTuningResourceConfig"
# Members of the tuning form that a trial's ResourceConfig has under the same names.
SAME_AS_RESOURCE_CONFIG = ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")
SEVERAL_TYPES = ("InstanceConfigs", "AllocationStrategy")


def resource_config(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The ResourceConfig every trial of the definition runs with; ValidationError naming what is not."""
    given = definition.get("ResourceConfig")
    tuning = definition.get(TUNING_RESOURCES)
    if (given is None) == (tuning is None):
        raise ValidationError(
            f"Give exactly one of ResourceConfig or {TUNING_RESOURCES} in each training job definition."
        )
    if given is not None:
        return dict(given)
    assert tuning is not None
    several = next((member for member in SEVERAL_TYPES if member in tuning), None)
    if several is not None:
        raise ValidationError(
            f"{TUNING_RESOURCES}.{several} is not supported: every trial runs on one instance type; "
            "give InstanceType, InstanceCount and VolumeSizeInGB."
        )
    missing = next((m for m in SAME_AS_RESOURCE_CONFIG[:3] if m not in tuning), None)
    if missing is not None:
        raise ValidationError(f"{TUNING_RESOURCES}.{missing} is required.")
    return {member: tuning[member] for member in SAME_AS_RESOURCE_CONFIG if member in tuning}
