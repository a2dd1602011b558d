"""Training and billable seconds as DescribeTrainingJob reports them."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.jobs import billing

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_a_run_bills_whole_seconds_rounded_up_and_at_least_one() -> None:
    assert billing.billed_seconds(training_started=T0, now=at(10.2)) == 11
    assert billing.billed_seconds(training_started=T0, now=at(0.3)) == 1
    assert billing.billed_seconds(training_started=T0, now=T0) == 1


def test_a_sub_second_job_reports_a_second_of_training_for_its_second_of_billing() -> None:
    times = billing.reported(training_start=T0, training_end=at(0.0004), billable_seconds=1)
    assert times == billing.Times(training_seconds=1, billable_seconds=1)
    instant = billing.reported(training_start=T0, training_end=T0, billable_seconds=1)
    assert instant == billing.Times(training_seconds=1, billable_seconds=1)


def test_billing_recorded_over_instances_is_capped_at_the_training_time() -> None:
    # Rows written when billing was summed over the instances (2 x 30 s) read per instance.
    times = billing.reported(training_start=T0, training_end=at(30), billable_seconds=60)
    assert times == billing.Times(training_seconds=30, billable_seconds=30)


def test_nothing_is_made_up_for_a_job_that_never_trained() -> None:
    assert billing.reported(training_start=None, training_end=None, billable_seconds=None) == billing.Times(
        None, None
    )
    assert billing.reported(training_start=T0, training_end=at(5), billable_seconds=None) == billing.Times(
        5, None
    )


@given(
    elapsed=st.floats(min_value=0, max_value=10**6, allow_nan=False),
    run_lag=st.floats(min_value=-5, max_value=5, allow_nan=False),
)
def test_spot_savings_are_never_negative_and_never_divide_by_zero(elapsed: float, run_lag: float) -> None:
    # The run's own clock may read a little before or after the recorded end.
    billed = billing.billed_seconds(training_started=T0, now=at(max(0.0, elapsed + run_lag)))
    times = billing.reported(training_start=T0, training_end=at(elapsed), billable_seconds=billed)
    assert times.training_seconds is not None and times.billable_seconds is not None
    assert times.training_seconds >= 1
    assert 1 <= times.billable_seconds <= times.training_seconds
    savings = 1 - times.billable_seconds / times.training_seconds  # what the SDK prints, as a fraction
    assert savings >= 0
