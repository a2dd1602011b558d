"""Refusals are counted per (known key, or source address for unknown ones; minute; outcome)."""

from __future__ import annotations

import datetime as dt

from app.audit.entries import VARIOUS, AuditEntry, RefusalAggregator

T0 = dt.datetime(2026, 1, 1, 12, 0, 5, tzinfo=dt.UTC)


def _refusal(seconds: float = 0, **fields: str | None) -> AuditEntry:
    values: dict[str, str | None] = {
        "operation": "DescribeTrainingJob",
        "outcome": "InvalidSignatureException",
        "source_ip": "10.0.0.1",
    }
    values.update(fields)
    operation, outcome = values.pop("operation"), values.pop("outcome")
    assert operation is not None and outcome is not None
    return AuditEntry(time=T0 + dt.timedelta(seconds=seconds), operation=operation, outcome=outcome, **values)


def test_a_flood_from_one_known_key_in_one_minute_is_one_aggregate() -> None:
    aggregator = RefusalAggregator()
    for i in range(10_000):
        aggregator.add(_refusal(i * 0.005, account_id="111111111111", access_key_id="AKIAX"))
    (entry,) = aggregator.pending()
    assert (entry.count, entry.time, entry.access_key_id) == (10_000, T0, "AKIAX")


def test_minutes_outcomes_and_keys_are_counted_apart() -> None:
    aggregator = RefusalAggregator()
    known = {"account_id": "111111111111"}
    aggregator.add(_refusal(0, access_key_id="AKIAA", **known))
    aggregator.add(_refusal(60, access_key_id="AKIAA", **known))  # the next minute
    aggregator.add(_refusal(1, access_key_id="AKIAB", **known))
    aggregator.add(_refusal(2, access_key_id="AKIAA", outcome="SignatureExpired", **known))
    assert len(aggregator) == 4


def test_made_up_key_ids_from_one_address_share_one_aggregate_that_names_no_key() -> None:
    aggregator = RefusalAggregator()
    for i in range(50):
        aggregator.add(_refusal(i, access_key_id=f"AKIAFAKE{i}", operation=f"Op{i % 2}"))
    (entry,) = aggregator.pending()
    assert (entry.count, entry.access_key_id, entry.source_ip, entry.operation) == (
        50,
        None,
        "10.0.0.1",
        VARIOUS,
    )


def test_take_hands_over_only_the_minutes_that_are_over() -> None:
    aggregator = RefusalAggregator()
    aggregator.add(_refusal(0))
    aggregator.add(_refusal(60))
    assert aggregator.take(before=T0 + dt.timedelta(seconds=54)) == []
    (done,) = aggregator.take(before=T0 + dt.timedelta(seconds=55))  # 12:01:00, the first minute's end
    assert done.time == T0
    assert [e.time for e in aggregator.take(before=None)] == [T0 + dt.timedelta(seconds=60)]
    assert len(aggregator) == 0
