"""The metric scanner: values from bounded lines, slow patterns dropped, everything read at the end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.jobs.spec import MetricDefinition
from app.runtime import metric_scanner
from app.runtime.logs import MAX_LINE_BYTES
from app.runtime.metric_scanner import MetricScanner

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_values_are_found_and_the_last_one_is_final(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    log.write_bytes(b"epoch 1 loss=0.5\nnoise\nepoch 2 loss=0.25\n")
    scanner = MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+)")])
    assert [p.value for p in scanner.scan([log], NOW)] == [0.5, 0.25]
    assert scanner.final_metrics() == [{"MetricName": "loss", "Value": 0.25, "Timestamp": NOW.timestamp()}]


def test_an_unterminated_last_line_counts_only_in_the_final_scan(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    log.write_bytes(b"loss=1\nloss=2")
    scanner = MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+)")])
    assert [p.value for p in scanner.scan([log], NOW)] == [1.0]
    assert [p.value for p in scanner.scan([log], NOW, final=True)] == [2.0]


def test_a_huge_line_is_matched_in_pieces(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    log.write_bytes(b"a" * (3 * MAX_LINE_BYTES) + b"loss=7\n")
    scanner = MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+)")])
    assert [p.value for p in scanner.scan([log], NOW)] == [7.0]


def test_a_pattern_that_keeps_running_out_of_time_is_dropped_and_the_others_go_on(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    slow_line = b"loss=" + b"a" * 40 + b"!\n"
    log.write_bytes(slow_line * (metric_scanner.MAX_TIMEOUTS + 2) + b"acc=0.9\n")
    scanner = MetricScanner(
        [MetricDefinition("slow", r"(?=l)loss=((a|a)+)$"), MetricDefinition("acc", r"acc=([0-9.]+)")]
    )
    assert [(p.name, p.value) for p in scanner.scan([log], NOW)] == [("acc", 0.9)]
    assert [name for name, _ in scanner._patterns] == ["acc"]


def test_an_invalid_stored_pattern_yields_nothing_rather_than_failing(tmp_path: Path) -> None:
    log = tmp_path / "algo-1-1.log"
    log.write_bytes(b"loss=1\n")
    assert MetricScanner([MetricDefinition("loss", r"loss=([0-9.]+")]).scan([log], NOW) == []
