"""TrainingTimeInSeconds and BillableTimeInSeconds as botocore's model defines them; pure.

Both are per instance ("multiply BillableTimeInSeconds by the number of instances" is the caller's job:
the SDK does it for its spot-savings line). Billable time never exceeds the training time as reported,
so savings are never negative, and a job that trained at all reports at least one second of each: the
SDK divides by the training time.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Times:
    training_seconds: int | None
    billable_seconds: int | None


def billed_seconds(*, training_started: dt.datetime, now: dt.datetime) -> int:
    """What a run records when it ends: whole seconds per instance since training began, at least one."""
    return max(1, math.ceil((now - training_started).total_seconds()))


def reported(
    *, training_start: dt.datetime | None, training_end: dt.datetime | None, billable_seconds: int | None
) -> Times:
    """The two figures DescribeTrainingJob reports for what was recorded."""
    if training_start is None or training_end is None:
        return Times(None, billable_seconds)
    training = math.ceil((training_end - training_start).total_seconds())
    if billable_seconds is None:
        return Times(training, None)
    training = max(training, 1) if billable_seconds >= 1 else training
    return Times(training, min(billable_seconds, training))
