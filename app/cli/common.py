"""What every client command shares: exit codes, the options every command takes, the client it calls."""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.client import DEFAULT_ENDPOINT, SageMakerClient

# Exit codes, distinct so that scripts can tell the cases apart.
OK = 0
REFUSED = 1  # the server refused the request (a ClientError other than "not found")
USAGE = 2  # bad command line (argparse's own code)
UNREACHABLE = 3  # nothing answers at the endpoint
NOT_FOUND = 4  # no such training job, VM, bucket or key
JOB_FAILED = 5  # `jobs wait`: the job ended Failed (and Failed is not an --ok-status)
JOB_STOPPED = 6  # `jobs wait`: the job ended Stopped (and Stopped is not an --ok-status)
JOB_COMPLETED = 7  # `jobs wait`: the job ended Completed, which --ok-status left out
TIMED_OUT = 8  # `jobs wait --timeout`: still running
INTERRUPTED = 130

ENDPOINT_ENV = "SAGELITE_ENDPOINT_URL"
# The root key (id and secret) a server bound to loopback creates when none is configured.
LOOPBACK_KEY = "test"


class CommandError(Exception):
    """A mistake found after parsing (unreadable input file, bad status name), or a wait that timed out."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    client: SageMakerClient
    json: bool
    endpoint_url: str


Handler = Callable[[argparse.Namespace, Context], int]


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the subcommand (defaults are resolved in `resolve`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--endpoint-url",
        default=argparse.SUPPRESS,
        help=f"the sagelite server (default ${ENDPOINT_ENV} or {DEFAULT_ENDPOINT})",
    )
    common.add_argument(
        "--output",
        choices=["table", "json"],
        default=argparse.SUPPRESS,
        help="human-readable tables (default) or JSON for scripts",
    )
    return common


def context(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Context:
    env = os.environ if environ is None else environ
    endpoint = getattr(args, "endpoint_url", None) or env.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT
    key, secret, token = credentials(env, endpoint)
    client = SageMakerClient(
        endpoint_url=endpoint,
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )
    return Context(client=client, json=getattr(args, "output", "table") == "json", endpoint_url=endpoint)


def credentials(env: Mapping[str, str], endpoint: str) -> tuple[str | None, str | None, str | None]:
    """What every request is signed with: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and
    `AWS_SESSION_TOKEN`) from the environment; with neither set and a loopback endpoint, the root key
    `test` / `test` a loopback server creates; otherwise nothing (and the server refuses)."""
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return key, secret, env.get("AWS_SESSION_TOKEN") or None
    if not key and not secret and _is_loopback(endpoint):
        return LOOPBACK_KEY, LOOPBACK_KEY, None
    return None, None, None


def _is_loopback(endpoint: str) -> bool:
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def leaf(commands: Any, name: str, handler: Handler, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand that calls `handler(args, context)` and takes the common options."""
    parser: argparse.ArgumentParser = commands.add_parser(name, parents=[common_options()], **kwargs)
    parser.set_defaults(client_handler=handler)
    return parser
