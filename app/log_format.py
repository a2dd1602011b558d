"""The server's log lines, for people (text) and for log shippers (JSON); both keep the `extra=` fields.

`logger.info("placed", extra={"job": "train-1", "hosts": ["h1"]})` is written as

    2024-05-01 12:00:00,123 INFO app.scheduler.loop placed job=train-1 hosts=['h1']

in the text format, and as one JSON object per line in the JSON format:

    {"time": "2024-05-01T10:00:00.123+00:00", "level": "INFO", "logger": "app.scheduler.loop",
     "message": "placed", "job": "train-1", "hosts": ["h1"]}
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The attributes every LogRecord has; any other attribute was passed with `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",  # added by Python 3.12
}
# uvicorn repeats its message with ANSI colours for its own formatter: nothing a reader needs twice.
_REDUNDANT = frozenset({"color_message"})


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a log call passed with `extra=`, in the order it passed them. Private attributes are
    a library's own: Ray's record factory stamps `_ray_timestamp_ns` on every record once it is imported."""
    return {
        name: value
        for name, value in vars(record).items()
        if name not in _STANDARD and name not in _REDUNDANT and not name.startswith("_")
    }


class TextFormatter(logging.Formatter):
    """`time level logger message`, then `name=value` for each extra field, on the message's line."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # Here rather than in format(): the fields belong on the first line, before any traceback.
        line = super().formatMessage(record)
        fields = " ".join(f"{name}={_text_value(value)}" for name, value in extra_fields(record).items())
        return f"{line} {fields}" if fields else line


def _text_value(value: object) -> str:
    """Strings bare while that reads unambiguously; quoted and escaped if empty or with spaces, `"` or `=`."""
    if isinstance(value, str) and (not value or any(c.isspace() or c in '"=' for c in value)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the extra fields, and the
    exception (and stack) as strings when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in extra_fields(record).items():
            entry.setdefault(name, value)  # the fixed keys win: a shipper must find them where it expects
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra field may hold anything (a Path, a datetime); the line must still be written.
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(*, level: str, log_format: LogFormat) -> None:
    """One stderr handler on the root logger: every logger that propagates (uvicorn's too) uses it."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler])
