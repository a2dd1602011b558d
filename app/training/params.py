"""Typed access to SageMaker's hyperparameters, which always arrive as strings.

Like the real built-in algorithms, an unknown name is a `ClientError` (it is usually a typo such as
`learning-rate`); names the real algorithm accepts but sagelite does not implement are listed by each
algorithm as `ignored` and only logged. Names the SageMaker SDK adds for its own use (`sagemaker_*`,
`_tuning_objective_metric`) are always ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from app.training.errors import HyperparameterError

T = TypeVar("T")
_SDK_NAMES = ("sagemaker_", "_tuning_objective_metric")


class Hyperparameters:
    """One algorithm's view of the job's hyperparameters: checked names, parsed values."""

    def __init__(
        self,
        raw: Mapping[str, str],
        *,
        algorithm: str,
        known: Iterable[str],
        ignored: Iterable[str] = (),
    ) -> None:
        self.algorithm = algorithm
        self._raw = {name: str(value).strip() for name, value in raw.items()}
        allowed = set(known) | set(ignored)
        unknown = sorted(n for n in self._raw if n not in allowed and not n.startswith(_SDK_NAMES))
        if unknown:
            raise HyperparameterError(
                f"{algorithm} does not accept hyperparameter(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(known))}"
            )
        self.ignored = tuple(sorted(n for n in self._raw if n in set(ignored)))

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def text(self, name: str, default: str) -> str:
        return self._raw.get(name, default)

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        return self._parse(name, default, _to_int, "an integer", minimum)

    def optional_integer(self, name: str, *, minimum: int | None = None) -> int | None:
        if name not in self._raw:
            return None
        return self._parse(name, 0, _to_int, "an integer", minimum)

    def number(self, name: str, default: float, *, minimum: float | None = None) -> float:
        return self._parse(name, default, _to_float, "a number", minimum)

    def auto_number(self, name: str, auto: float, *, minimum: float | None = None) -> float:
        """A number that may also be given as "auto" (the real algorithms' default for many knobs)."""
        if self._raw.get(name, "auto").lower() == "auto":
            return auto
        return self.number(name, auto, minimum=minimum)

    def boolean(self, name: str, default: bool) -> bool:
        return self._parse(name, default, _to_bool, "true or false", None)

    def choice(self, name: str, default: str, choices: Iterable[str]) -> str:
        options = tuple(choices)
        value = self._raw.get(name, default).lower()
        if value not in options:
            raise HyperparameterError(f"hyperparameter {name}={value!r}: must be one of {', '.join(options)}")
        return value

    def int_list(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        """A comma-separated list such as "64,32" (brackets tolerated: "[64, 32]"); "" means empty."""
        if name not in self._raw:
            return default
        body = self._raw[name].strip("[]() ")
        try:
            values = tuple(_to_int(part) for part in body.split(",") if part.strip())
        except ValueError:
            raise HyperparameterError(
                f"hyperparameter {name}={self._raw[name]!r}: must be comma-separated integers, e.g. 64,32"
            ) from None
        if any(value < 1 for value in values):
            raise HyperparameterError(f"hyperparameter {name}={self._raw[name]!r}: sizes must be at least 1")
        return values

    def _parse(self, name: str, default: T, parse: Callable[[str], T], kind: str, minimum: float | None) -> T:
        if name not in self._raw:
            return default
        try:
            value = parse(self._raw[name])
        except ValueError:
            raise HyperparameterError(f"hyperparameter {name}={self._raw[name]!r}: must be {kind}") from None
        if minimum is not None and isinstance(value, int | float) and value < minimum:
            raise HyperparameterError(
                f"hyperparameter {name}={self._raw[name]!r}: must be at least {minimum}"
            )
        return value


def _to_int(text: str) -> int:
    # "1e3" and "10.0" are integers too: SDKs serialise numbers in either form.
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


def _to_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _to_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise ValueError(text)
