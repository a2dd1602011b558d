"""What the tuning pages show, read through the tuning service for the signed-in caller: a page of tuning
jobs with each one's best objective, and one tuning job with its trials and the objective chart's data."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.auth.caller import Caller
from app.services import Services
from app.tuning.service import ENDED

LIST_PAGE_SIZE = 25
_TRIALS_PER_CALL = 100  # ListTrainingJobsForHyperParameterTuningJob's most per page


@dataclass(frozen=True)
class TuningRow:
    """One line of the tuning jobs list: the summary and, once a trial reported it, the best objective."""

    summary: dict[str, Any]
    best_objective: float | None


@dataclass(frozen=True)
class Trial:
    name: str
    status: str
    hyperparameters: tuple[tuple[str, str], ...]
    objective: float | None
    best: bool


@dataclass(frozen=True)
class TuningView:
    job: dict[str, Any]
    trials: tuple[Trial, ...]  # in the order they were created

    @property
    def name(self) -> str:
        name: str = self.job["HyperParameterTuningJobName"]
        return name

    @property
    def running(self) -> bool:
        return self.job["HyperParameterTuningJobStatus"] not in ENDED

    @property
    def objective(self) -> dict[str, str]:
        objective: dict[str, str] = self.job["HyperParameterTuningJobConfig"][
            "HyperParameterTuningJobObjective"
        ]
        return objective

    @property
    def best_objective(self) -> float | None:
        return _best_value(self.job)

    def chart(self) -> dict[str, Any]:
        """The objective per trial (None where a trial reported none) and the best value so far."""
        values = [t.objective for t in self.trials]
        minimize = self.objective["Type"] == "Minimize"
        return {
            "metric": self.objective["MetricName"],
            "trial": list(range(1, len(values) + 1)),
            "name": [t.name for t in self.trials],
            "objective": values,
            "best": best_so_far(values, minimize=minimize),
        }


def best_so_far(values: Sequence[float | None], *, minimize: bool) -> list[float | None]:
    """The running best of `values` (None until one is known): the line a search is judged by."""
    best: float | None = None
    out: list[float | None] = []
    for value in values:
        if value is not None and (best is None or (value < best if minimize else value > best)):
            best = value
        out.append(best)
    return out


def tuning_rows(
    services: Services, params: dict[str, Any], *, caller: Caller
) -> tuple[list[TuningRow], str | None]:
    """A page of ListHyperParameterTuningJobs, each row with its best objective (from its Describe)."""
    listing = services.tuning.list(params, caller=caller)
    rows = []
    for summary in listing["HyperParameterTuningJobSummaries"]:
        described = services.tuning.describe(summary["HyperParameterTuningJobName"], caller=caller)
        rows.append(TuningRow(summary=summary, best_objective=_best_value(described)))
    return rows, listing.get("NextToken")


def tuning_view(services: Services, name: str, *, caller: Caller) -> TuningView:
    job = services.tuning.describe(name, caller=caller)  # NotFound for another account's tuning job too
    best = job.get("BestTrainingJob", {}).get("TrainingJobName")
    summaries = sorted(
        _trials(services, name, caller=caller), key=lambda s: (s["CreationTime"], s["TrainingJobName"])
    )
    trials = tuple(
        Trial(
            name=s["TrainingJobName"],
            status=s["TrainingJobStatus"],
            hyperparameters=tuple(sorted(s["TunedHyperParameters"].items())),
            objective=s.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value"),
            best=s["TrainingJobName"] == best,
        )
        for s in summaries
    )
    return TuningView(job=job, trials=trials)


def _trials(services: Services, name: str, *, caller: Caller) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"HyperParameterTuningJobName": name, "MaxResults": _TRIALS_PER_CALL}
    while True:
        listing = services.tuning.list_training_jobs(params, caller=caller)
        yield from listing["TrainingJobSummaries"]
        if not listing.get("NextToken"):
            return
        params = params | {"NextToken": listing["NextToken"]}


def _best_value(described: dict[str, Any]) -> float | None:
    metric = described.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric")
    return None if metric is None else float(metric["Value"])
