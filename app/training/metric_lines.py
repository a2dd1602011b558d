"""The metric lines the algorithms print, and the regexes (MetricDefinitions) that read them back.

One line per epoch on stdout, all of that epoch's metrics on it:

    #metric epoch=3 train:loss=0.231907 validation:loss=0.254113 validation:accuracy=0.9012

A line without `epoch=` reports a final value (after training, e.g. on the `test` channel). Values use
Python's `%g`-style formatting with 6 significant digits (`1.5e-05` is possible; NaN is written `nan`
and matches no regex, so it never becomes a data point). For a metric `NAME` the definition is
`{"Name": NAME, "Regex": r"#metric .*\\bNAME=(<number>)"}`: the last match of a job is its final value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

PREFIX = "#metric"
NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


def format_line(values: Mapping[str, float], *, epoch: int | None = None) -> str:
    fields = [f"epoch={epoch}"] if epoch is not None else []
    fields += [f"{name}={value:.6g}" for name, value in values.items()]
    return " ".join([PREFIX, *fields])


def regex(name: str) -> str:
    return rf"{PREFIX} .*\b{re.escape(name)}={NUMBER}"


def definitions(names: Iterable[str]) -> list[dict[str, str]]:
    """CreateTrainingJob-style MetricDefinitions for the given metric names."""
    return [{"Name": name, "Regex": regex(name)} for name in names]
