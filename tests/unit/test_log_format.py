"""The server's log lines keep the `extra=` fields, in text for people and in JSON for log shippers."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import pytest

from app.cli import server
from app.config import Settings
from app.log_format import JsonFormatter, TextFormatter

CREATED = 1714557600.123  # 2024-05-01 10:00:00.123 UTC


def record(msg: str = "placed", *, exc_info: bool = False, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("app.scheduler.loop")
    info = sys.exc_info() if exc_info else None
    made = logger.makeRecord(logger.name, logging.INFO, __file__, 1, msg, (), info, extra=extra)
    made.created, made.msecs = CREATED, 123.0
    return made


def text(made: logging.LogRecord) -> str:
    formatter = TextFormatter()
    formatter.converter = time.gmtime  # the line is in local time; the test must not depend on the zone
    return formatter.format(made)


def test_text_appends_the_extra_fields() -> None:
    assert (
        text(record(job="train-1", hosts=["h1"]))
        == "2024-05-01 10:00:00,123 INFO app.scheduler.loop placed job=train-1 hosts=['h1']"
    )


def test_text_without_extra_fields_is_the_plain_line() -> None:
    assert text(record("started")) == "2024-05-01 10:00:00,123 INFO app.scheduler.loop started"


def test_text_quotes_values_that_would_read_ambiguously() -> None:
    line = text(record("ended", reason='out of "memory"\nat 3', empty="", vm="vm-1"))
    assert line.endswith(r'ended reason="out of \"memory\"\nat 3" empty="" vm=vm-1')


def test_text_puts_the_fields_before_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = record("failed", exc_info=True, job="train-1")
    first, *rest = text(made).splitlines()
    assert first.endswith("failed job=train-1")
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: boom"


def test_uvicorns_coloured_copy_of_the_message_is_left_out() -> None:
    assert text(record("Started", color_message="\x1b[36mStarted\x1b[0m")).endswith(
        "INFO app.scheduler.loop Started"
    )


def test_json_is_one_object_with_the_fixed_keys_and_the_extra_fields() -> None:
    line = JsonFormatter().format(record(job="train-1", hosts=["h1"], data_dir=Path("/d")))
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2024-05-01T10:00:00.123+00:00",
        "level": "INFO",
        "logger": "app.scheduler.loop",
        "message": "placed",
        "job": "train-1",
        "hosts": ["h1"],
        "data_dir": "/d",
    }


def test_json_carries_the_exception_as_a_string() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = record("failed", exc_info=True)
    entry = json.loads(JsonFormatter().format(made))
    assert entry["message"] == "failed"
    assert entry["exception"].startswith("Traceback") and entry["exception"].endswith("ValueError: boom")


def test_json_keeps_its_fixed_keys_when_an_extra_field_has_the_same_name() -> None:
    entry = json.loads(JsonFormatter().format(record(level="high")))
    assert entry["level"] == "INFO"


def test_the_format_comes_from_the_environment_or_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().log_format == "text"
    monkeypatch.setenv("SAGELITE_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    parser = argparse.ArgumentParser()
    server.add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", "--log-format", "text"])
    assert server.settings_from(args).log_format == "text"


def test_a_librarys_private_attributes_are_no_fields() -> None:
    made = record(job="train-1")
    made._ray_timestamp_ns = 1  # what Ray's record factory adds to every record once it is imported
    assert text(made) == "2024-05-01 10:00:00,123 INFO app.scheduler.loop placed job=train-1"
