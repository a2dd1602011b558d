"""JSON encoding per surface: AWS wants timestamps as epoch seconds, REST users read ISO 8601."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson


def _epoch(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def aws_json(content: Any) -> bytes:
    return orjson.dumps(content, default=_epoch, option=orjson.OPT_PASSTHROUGH_DATETIME)


def rest_json(content: Any) -> bytes:
    # orjson writes aware datetimes as RFC 3339 by itself.
    return orjson.dumps(content)
