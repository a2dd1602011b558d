"""What `jobs` and `tuning` share: a list newest first with the same filters, and a wait's end (which
end statuses are fine, the closing line or JSON, the exit code)."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import common, output
from app.cli.common import CommandError, Context

END_STATUSES = ("Completed", "Failed", "Stopped")
EXIT_FOR = {"Failed": common.JOB_FAILED, "Stopped": common.JOB_STOPPED, "Completed": common.JOB_COMPLETED}


def newest_first(args: argparse.Namespace, ctx: Context, *, operation: str, key: str) -> list[dict[str, Any]]:
    """Every summary the list operation gives for `--status` and `--name-contains`, up to `--max-items`."""
    params: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
    if args.status:
        params["StatusEquals"] = args.status
    if args.name_contains:
        params["NameContains"] = args.name_contains
    pages = ctx.client.get_paginator(operation).paginate(
        **params, PaginationConfig={"MaxItems": args.max_items}
    )
    summaries: list[dict[str, Any]] = pages.build_full_result().get(key, [])
    return summaries


def add_wait_arguments(wait: argparse.ArgumentParser, *, interval_seconds: float) -> None:
    """NAME, --ok-status, --interval (polls `interval_seconds` apart unless told) and --timeout."""
    wait.add_argument("name", metavar="NAME")
    wait.add_argument(
        "--ok-status",
        default="Completed",
        metavar="LIST",
        help="end statuses that exit 0, comma-separated (default Completed; Failed exits 5, Stopped 6)",
    )
    wait.add_argument(
        "--interval",
        type=float,
        default=interval_seconds,
        metavar="SECONDS",
        help=f"between polls ({interval_seconds:g})",
    )
    wait.add_argument("--timeout", type=float, metavar="SECONDS", help="give up (exit 8) after this long")


def ok_statuses(args: argparse.Namespace) -> set[str]:
    """`--ok-status`: the end statuses that exit 0; a CommandError for any that is no end status."""
    ok = {s.strip() for s in args.ok_status.split(",") if s.strip()}
    if not ok <= set(END_STATUSES):
        raise CommandError(
            f"--ok-status takes {', '.join(END_STATUSES)}, not {', '.join(sorted(ok - set(END_STATUSES)))}"
        )
    return ok


def ended(
    args: argparse.Namespace, ctx: Context, described: dict[str, Any], *, status: str, ok: set[str]
) -> int:
    """Show how the waited-for resource ended (JSON, or its name, status and failure); the exit code."""
    if ctx.json:
        output.emit_json(described)
    else:
        reason = f": {described['FailureReason']}" if described.get("FailureReason") else ""
        print(f"{args.name} {status}{reason}")
    return common.OK if status in ok else EXIT_FOR[status]
