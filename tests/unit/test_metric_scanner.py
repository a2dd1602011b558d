"""The metric scanner: values from bounded lines, slow patterns dropped, everything read at the end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.jobs.spec import MetricDefinition
from app.runtime import log_times, metric_scanner
from app.runtime.logs import MAX_LINE_BYTES
from app.runtime.metric_scanner import MetricScanner

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_values_are_found_and_the_last_one_is_final(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    log.write_bytes(b"epoch 1 loss=0.5\nnoise\nepoch 2 loss=0.25\n")
    scanner = MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+)")])
    assert [p.value for p in scanner.scan({"algo-1": log}, NOW)] == [0.5, 0.25]
    assert scanner.final_metrics() == [{"MetricName": "loss", "Value": 0.25, "Timestamp": NOW.timestamp()}]


def test_an_unterminated_last_line_counts_only_in_the_final_scan(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    log.write_bytes(b"loss=1\nloss=2")
    scanner = MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+)")])
    assert [p.value for p in scanner.scan({"algo-1": log}, NOW)] == [1.0]
    assert [p.value for p in scanner.scan({"algo-1": log}, NOW, final=True)] == [2.0]


def test_a_huge_line_is_matched_in_pieces(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    log.write_bytes(b"a" * (3 * MAX_LINE_BYTES) + b"loss=7\n")
    scanner = MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+)")])
    assert [p.value for p in scanner.scan({"algo-1": log}, NOW)] == [7.0]


def test_a_pattern_that_keeps_running_out_of_time_is_dropped_and_the_others_go_on(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    slow_line = b"loss=" + b"a" * 40 + b"!\n"
    log.write_bytes(slow_line * (metric_scanner.MAX_TIMEOUTS + 2) + b"acc=0.9\n")
    scanner = MetricScanner(
        [MetricDefinition("slow", r"(?=l)loss=((a|a)+)$"), MetricDefinition("acc", r"acc=([0-9.]+)")]
    )
    assert [(p.name, p.value) for p in scanner.scan({"algo-1": log}, NOW)] == [("acc", 0.9)]
    assert [name for name, _ in scanner._patterns] == ["acc"]


def test_an_invalid_stored_pattern_yields_nothing_rather_than_failing(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    log.write_bytes(b"loss=1\n")
    assert MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+")]).scan({"algo-1": log}, NOW) == []


def test_each_value_keeps_its_host_and_the_time_its_line_was_written(tmp_path: Path) -> None:
    first, second = tmp_path / "algo-1-1.log", tmp_path / "algo-2-1.log"
    first.write_bytes(b"loss=1\nloss=2\n")
    second.write_bytes(b"loss=3\n")
    start_ms = int(NOW.timestamp() * 1000) - 60_000
    with log_times.appending(first) as fd:
        writer = log_times.TimesWriter(fd)
        writer.stamp(offset=0, ms=start_ms)
        writer.stamp(offset=7, ms=start_ms + 1500)  # where `loss=2` begins
    scanner = MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+)")])
    found = scanner.scan({"algo-1": first, "algo-2": second}, NOW)
    at = [(p.host, p.value, int(p.timestamp.timestamp() * 1000)) for p in found]
    assert at == [
        ("algo-1", 1.0, start_ms),
        ("algo-1", 2.0, start_ms + 1500),
        ("algo-2", 3.0, start_ms + 60_000),  # a log without times: the scan's time
    ]
    assert scanner.final_metrics()[0]["Timestamp"] == NOW.timestamp()  # the last value came from algo-2
