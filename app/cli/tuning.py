"""`sagelite tuning list|describe|wait`: hyperparameter tuning jobs at a terminal."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from app.cli import common, list_and_wait, output
from app.cli.common import CommandError, Context

STATUS_CHOICES = ["InProgress", "Completed", "Failed", "Stopping", "Stopped"]


def add_parser(commands: Any) -> None:
    tuning = commands.add_parser("tuning", help="hyperparameter tuning jobs: list, describe, wait")
    sub = tuning.add_subparsers(dest="tuning_command", required=True, metavar="COMMAND")
    listing = common.leaf(sub, "list", list_tuning_jobs, help="list tuning jobs, newest first")
    listing.add_argument("--status", choices=STATUS_CHOICES)
    listing.add_argument("--name-contains", metavar="TEXT")
    listing.add_argument("--max-items", type=int, metavar="N", help="at most N tuning jobs")
    describe = common.leaf(sub, "describe", describe_tuning_job, help="show a tuning job and its trials")
    describe.add_argument("name", metavar="NAME")
    wait = common.leaf(sub, "wait", wait_tuning_job, help="wait for a tuning job to end, showing progress")
    list_and_wait.add_wait_arguments(wait, interval_seconds=5.0)


def list_tuning_jobs(args: argparse.Namespace, ctx: Context) -> int:
    summaries = list_and_wait.newest_first(
        args, ctx, operation="list_hyper_parameter_tuning_jobs", key="HyperParameterTuningJobSummaries"
    )
    if ctx.json:
        output.emit_json({"HyperParameterTuningJobSummaries": summaries})
        return common.OK
    rows = [
        (
            s["HyperParameterTuningJobName"],
            s["HyperParameterTuningJobStatus"],
            s["Strategy"],
            _counters(s["TrainingJobStatusCounters"]),
            s["CreationTime"],
            s.get("HyperParameterTuningEndTime"),
        )
        for s in summaries
    ]
    output.table(["NAME", "STATUS", "STRATEGY", "TRAINING JOBS", "CREATED", "ENDED"], rows)
    return common.OK


def describe_tuning_job(args: argparse.Namespace, ctx: Context) -> int:
    tuning = ctx.client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=args.name)
    trials = _trials(ctx, args.name)
    if ctx.json:
        output.emit_json({**tuning, "TrainingJobSummaries": trials})
        return common.OK
    config = tuning.get("HyperParameterTuningJobConfig", {})
    limits = config.get("ResourceLimits", {})
    best = tuning.get("BestTrainingJob", {})
    output.fields(
        {
            "Name": tuning["HyperParameterTuningJobName"],
            "ARN": tuning["HyperParameterTuningJobArn"],
            "Status": tuning["HyperParameterTuningJobStatus"],
            "Failure reason": tuning.get("FailureReason"),
            "Strategy": config.get("Strategy"),
            "Objective": _objective_text(config.get("HyperParameterTuningJobObjective")),
            "Limits": f"{limits.get('MaxNumberOfTrainingJobs', 'whole grid')} training jobs, "
            f"{limits.get('MaxParallelTrainingJobs')} at a time",
            "Training jobs": _counters(tuning["TrainingJobStatusCounters"]),
            "Best training job": best.get("TrainingJobName"),
            "Best objective": _value(best),
            "Created": tuning.get("CreationTime"),
            "Ended": tuning.get("HyperParameterTuningEndTime"),
        }
    )
    if trials:
        print()
        rows = [
            (t["TrainingJobName"], t["TrainingJobStatus"], _value(t), _tuned(t["TunedHyperParameters"]))
            for t in trials
        ]
        output.table(["TRAINING JOB", "STATUS", "OBJECTIVE", "HYPERPARAMETERS"], rows)
    return common.OK


def wait_tuning_job(args: argparse.Namespace, ctx: Context) -> int:
    ok = list_and_wait.ok_statuses(args)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    shown = None
    while True:
        tuning = ctx.client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=args.name)
        status = tuning["HyperParameterTuningJobStatus"]
        line = _progress(tuning)
        if line != shown:  # a line per change, so a log of the wait stays short
            print(line, file=sys.stderr, flush=True)
            shown = line
        if status in list_and_wait.END_STATUSES:
            break
        if deadline is not None and time.monotonic() >= deadline:
            raise CommandError(f"{args.name} is still {status} after {args.timeout:g} s", common.TIMED_OUT)
        time.sleep(args.interval)
    return list_and_wait.ended(args, ctx, tuning, status=status, ok=ok)


def _trials(ctx: Context, name: str) -> list[dict[str, Any]]:
    pages = ctx.client.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name
    )
    trials: list[dict[str, Any]] = pages.build_full_result().get("TrainingJobSummaries", [])
    return trials


def _progress(tuning: dict[str, Any]) -> str:
    best = tuning.get("BestTrainingJob")
    parts = [
        tuning["HyperParameterTuningJobName"],
        tuning["HyperParameterTuningJobStatus"],
        _counters(tuning["TrainingJobStatusCounters"]),
    ]
    if best is not None:
        parts.append(f"best {best['TrainingJobName']} {output.cell(_value(best))}")
    return "  ".join(parts)


def _counters(counters: dict[str, int]) -> str:
    shown = [f"{count} {status}" for status, count in counters.items() if count]
    return ", ".join(shown) or "none yet"


def _objective_text(objective: dict[str, str] | None) -> str | None:
    return None if objective is None else f"{objective['Type']} {objective['MetricName']}"


def _value(summary: dict[str, Any]) -> float | None:
    metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
    return None if metric is None else float(metric["Value"])


def _tuned(values: dict[str, str]) -> str:
    return " ".join(f"{name}={value}" for name, value in sorted(values.items()))
