"""Rendering for the terminal: aligned tables, `key: value` blocks, JSON for scripts, durations."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO


def emit_json(value: Any, out: TextIO | None = None) -> None:
    """JSON with ISO 8601 timestamps, without boto3's ResponseMetadata (as the AWS CLI prints it)."""
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "ResponseMetadata"}
    print(json.dumps(value, indent=2, default=_default), file=out or sys.stdout)


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO | None = None) -> None:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        print(
            "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=out or sys.stdout
        )


def fields(pairs: Mapping[str, Any], out: TextIO | None = None) -> None:
    """`Key:  value` lines for the fields that are set."""
    shown = {k: v for k, v in pairs.items() if v not in (None, "", [], {})}
    width = max((len(k) for k in shown), default=0) + 1
    for key, value in shown.items():
        print(f"{key + ':':<{width}} {cell(value)}", file=out or sys.stdout)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def timestamp(value: dt.datetime) -> str:
    """Local time, to the second."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def metrics_text(metrics: Mapping[str, float]) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in sorted(metrics.items()))
