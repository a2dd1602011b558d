"""`sagelite jobs create|describe|list|stop|delete|logs|wait|download`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli import common, list_and_wait, output, progress
from app.cli.common import CommandError, Context


def add_parser(commands: Any) -> None:
    jobs = commands.add_parser("jobs", help="training jobs: create, describe, list, wait, logs, download")
    sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="COMMAND")
    create = common.leaf(sub, "create", create_job, help="create a training job from a JSON request")
    create.add_argument(
        "--cli-input-json",
        required=True,
        metavar="FILE",
        help="the CreateTrainingJob request as `aws sagemaker create-training-job` takes it: "
        "FILE, file://FILE or - for stdin",
    )
    for name, handler, text in (
        ("describe", describe_job, "show a training job"),
        ("stop", stop_job, "stop a training job"),
        ("delete", delete_job, "delete a finished training job"),
    ):
        common.leaf(sub, name, handler, help=text).add_argument("name", metavar="NAME")
    listing = common.leaf(sub, "list", list_jobs, help="list training jobs, newest first")
    listing.add_argument("--status", choices=["InProgress", "Completed", "Failed", "Stopping", "Stopped"])
    listing.add_argument("--name-contains", metavar="TEXT")
    listing.add_argument("--max-items", type=int, metavar="N", help="at most N jobs")
    logs = common.leaf(sub, "logs", job_logs, help="print a training job's log lines")
    logs.add_argument("name", metavar="NAME")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
    _add_wait(sub)
    download = common.leaf(sub, "download", download_model, help="download the job's model.tar.gz")
    download.add_argument("name", metavar="NAME")
    download.add_argument("--unpack", action="store_true", help="extract the archive's files too")
    download.add_argument("-o", "--directory", type=Path, default=Path("."), metavar="DIR", help="default .")
    download.add_argument(
        "--presign",
        action="store_true",
        help="print a link to the model.tar.gz that curl or a browser can follow without credentials",
    )
    download.add_argument(
        "--expires-in",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="how long a --presign link works (default 3600, at most 604800: seven days)",
    )


def _add_wait(sub: Any) -> None:
    wait = common.leaf(sub, "wait", wait_job, help="wait for a job to end, showing its progress")
    list_and_wait.add_wait_arguments(wait, interval_seconds=2.0)


def create_job(args: argparse.Namespace, ctx: Context) -> int:
    result = ctx.client.create_training_job(**read_input_json(args.cli_input_json))
    if ctx.json:
        output.emit_json(result)
    else:
        print(result["TrainingJobArn"])
    return common.OK


def read_input_json(source: str) -> dict[str, Any]:
    """`FILE`, `file://FILE` or `-` (stdin), holding one JSON object."""
    path = source.removeprefix("file://")
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        request = json.loads(text)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise CommandError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(request, dict):
        raise CommandError(f"{path} must hold a JSON object (the CreateTrainingJob request)")
    return request


def describe_job(args: argparse.Namespace, ctx: Context) -> int:
    job = ctx.client.describe_training_job(TrainingJobName=args.name)
    if ctx.json:
        output.emit_json(job)
        return common.OK
    resources = job.get("ResourceConfig", {})
    output.fields(
        {
            "Name": job["TrainingJobName"],
            "ARN": job["TrainingJobArn"],
            "Status": f"{job['TrainingJobStatus']} ({job.get('SecondaryStatus', '-')})",
            "Failure reason": job.get("FailureReason"),
            "Algorithm": job.get("AlgorithmSpecification", {}).get("TrainingImage"),
            "Instances": f"{resources.get('InstanceCount')} x {resources.get('InstanceType')}, "
            f"{resources.get('VolumeSizeInGB')} GB volume",
            "Created": job.get("CreationTime"),
            "Training start": job.get("TrainingStartTime"),
            "Training end": job.get("TrainingEndTime"),
            "Billable seconds": job.get("BillableTimeInSeconds"),
            "Model": job.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
            "Metrics": output.metrics_text(progress.latest_metrics(ctx.client, job)),
        }
    )
    transitions = job.get("SecondaryStatusTransitions", [])
    if transitions:
        print()
        rows = [(t["Status"], t.get("StartTime"), t.get("StatusMessage", "")) for t in transitions]
        output.table(["SECONDARY STATUS", "SINCE", "MESSAGE"], rows)
    return common.OK


def list_jobs(args: argparse.Namespace, ctx: Context) -> int:
    summaries = list_and_wait.newest_first(
        args, ctx, operation="list_training_jobs", key="TrainingJobSummaries"
    )
    if ctx.json:
        output.emit_json({"TrainingJobSummaries": summaries})
        return common.OK
    rows = [
        (
            s["TrainingJobName"],
            s["TrainingJobStatus"],
            s.get("SecondaryStatus"),
            s["CreationTime"],
            s.get("TrainingEndTime"),
        )
        for s in summaries
    ]
    output.table(["NAME", "STATUS", "SECONDARY", "CREATED", "ENDED"], rows)
    return common.OK


def stop_job(args: argparse.Namespace, ctx: Context) -> int:
    ctx.client.stop_training_job(TrainingJobName=args.name)
    job = ctx.client.describe_training_job(TrainingJobName=args.name)
    state = {k: job.get(k) for k in ("TrainingJobName", "TrainingJobStatus", "SecondaryStatus")}
    if ctx.json:
        output.emit_json(state)
    else:
        print(f"{args.name}: {state['TrainingJobStatus']} ({state['SecondaryStatus']})")
    return common.OK


def delete_job(args: argparse.Namespace, ctx: Context) -> int:
    ctx.client.delete_training_job(TrainingJobName=args.name)
    if ctx.json:
        output.emit_json({"TrainingJobName": args.name, "Deleted": True})
    else:
        print(f"{args.name}: deleted")
    return common.OK


def job_logs(args: argparse.Namespace, ctx: Context) -> int:
    for text in ctx.client.logs(args.name, follow=args.follow):
        print(text, flush=args.follow)
    return common.OK


def wait_job(args: argparse.Namespace, ctx: Context) -> int:
    ok = list_and_wait.ok_statuses(args)
    line = progress.ProgressLine(ctx.client, sys.stderr)
    try:
        job = ctx.client.wait(
            args.name, on_progress=line.update, poll_interval=args.interval, timeout=args.timeout
        )
    except TimeoutError as error:
        line.finish()
        raise CommandError(str(error), common.TIMED_OUT) from None
    line.finish()
    return list_and_wait.ended(args, ctx, job, status=job["TrainingJobStatus"], ok=ok)


def download_model(args: argparse.Namespace, ctx: Context) -> int:
    if args.presign:
        return _presign_model(args, ctx)
    path = ctx.client.download_training_job_artifact(
        TrainingJobName=args.name, destination=args.directory, unpack=args.unpack
    )
    if ctx.json:
        output.emit_json({"TrainingJobName": args.name, "Path": str(path), "Unpacked": args.unpack})
    else:
        print(path)
    return common.OK


def _presign_model(args: argparse.Namespace, ctx: Context) -> int:
    try:
        url = ctx.client.presign_model_url(args.name, expires_in=args.expires_in)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if ctx.json:
        output.emit_json({"TrainingJobName": args.name, "Url": url, "ExpiresIn": args.expires_in})
    else:
        print(url)
    return common.OK
