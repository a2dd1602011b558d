"""Hyperparameter ranges as SageMaker defines them, and their scaling onto the unit interval (pure).

The optimizer searches every Integer and Continuous range as a number `u` in [0, 1]; the range's scaling
turns `u` into the value a trial gets. With a scaling that matches how the hyperparameter acts (a
learning rate on a log scale), equal steps of `u` are equally meaningful, which is all SageMaker's
`ScalingType` says:

- Linear: `min + u * (max - min)`;
- Logarithmic: log-uniform between `min` and `max` (both > 0);
- ReverseLogarithmic: `1 - v` log-uniform, for values in [0, 1) that matter most near 1 (momentum);
- Auto: Logarithmic when the range is positive and spans at least two orders of magnitude, else Linear
  (SageMaker leaves the choice to the service; this is the rule we apply).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AUTO_LOG_SPAN = 100.0  # max / min at or above which Auto searches on a log scale


class RangeError(ValueError):
    """A range SageMaker would refuse; the message names the hyperparameter."""


class Scaling(enum.StrEnum):
    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"


@dataclass(frozen=True, slots=True)
class NumericRange:
    name: str
    low: float
    high: float
    integer: bool
    scaling: Scaling  # never AUTO: resolved when parsed

    def value_at(self, u: float) -> float | int:
        """The hyperparameter value at position `u` in [0, 1] of the scaled range."""
        u = min(1.0, max(0.0, u))
        if self.scaling is Scaling.LOGARITHMIC:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        elif self.scaling is Scaling.REVERSE_LOGARITHMIC:
            near, far = math.log(1.0 - self.low), math.log(1.0 - self.high)
            value = 1.0 - math.exp(near + u * (far - near))
        else:
            value = self.low + u * (self.high - self.low)
        value = min(self.high, max(self.low, value))
        return round(value) if self.integer else value

    def position_of(self, value: float) -> float:
        """The inverse of `value_at`: where `value` sits in [0, 1] of the scaled range."""
        if self.high == self.low:
            return 0.0
        value = min(self.high, max(self.low, value))
        if self.scaling is Scaling.LOGARITHMIC:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        if self.scaling is Scaling.REVERSE_LOGARITHMIC:
            near, far = math.log(1.0 - self.low), math.log(1.0 - self.high)
            return (math.log(1.0 - value) - near) / (far - near)
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True, slots=True)
class CategoricalRange:
    name: str
    values: tuple[str, ...]


Range = NumericRange | CategoricalRange


def parse(ranges: Mapping[str, Any]) -> tuple[Range, ...]:
    """The ranges of a `ParameterRanges` member; RangeError for any SageMaker refuses."""
    if ranges.get("AutoParameters"):
        raise RangeError("ParameterRanges.AutoParameters (Autotune) is not supported.")
    parsed: list[Range] = [
        *(_numeric(r, integer=True) for r in ranges.get("IntegerParameterRanges", [])),
        *(_numeric(r, integer=False) for r in ranges.get("ContinuousParameterRanges", [])),
        *(
            CategoricalRange(r["Name"], tuple(r["Values"]))
            for r in ranges.get("CategoricalParameterRanges", [])
        ),
    ]
    names = [r.name for r in parsed]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise RangeError(f"The hyperparameter {duplicate} appears in more than one range.")
    return tuple(parsed)


def format_value(value: float | int | str) -> str:
    """A tuned value as the string a training job's HyperParameters carry."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _numeric(raw: Mapping[str, Any], *, integer: bool) -> NumericRange:
    name = raw["Name"]
    kind = "Integer" if integer else "Continuous"
    try:
        low, high = (int(raw[k]) if integer else float(raw[k]) for k in ("MinValue", "MaxValue"))
    except ValueError:
        raise RangeError(
            f"The {kind} range of {name} needs numeric MinValue and MaxValue "
            f"(got {raw['MinValue']!r} and {raw['MaxValue']!r})."
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise RangeError(f"The range of {name} needs MinValue <= MaxValue (got {low} and {high}).")
    scaling = resolve_scaling(Scaling(raw.get("ScalingType", "Auto")), low=low, high=high)
    if scaling is Scaling.LOGARITHMIC and low <= 0:
        raise RangeError(f"Logarithmic scaling of {name} needs MinValue > 0 (got {low}).")
    if scaling is Scaling.REVERSE_LOGARITHMIC and (integer or low < 0 or high >= 1):
        raise RangeError(
            f"ReverseLogarithmic scaling of {name} needs a Continuous range with 0 <= MinValue and "
            f"MaxValue < 1 (got {low} and {high})."
        )
    return NumericRange(name, float(low), float(high), integer, scaling)


def resolve_scaling(scaling: Scaling, *, low: float, high: float) -> Scaling:
    if scaling is not Scaling.AUTO:
        return scaling
    if low > 0 and high / low >= AUTO_LOG_SPAN:
        return Scaling.LOGARITHMIC
    return Scaling.LINEAR
