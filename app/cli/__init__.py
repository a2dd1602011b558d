"""`sagelite` command line: `serve`, and client commands that call `app.client` (no business logic here).

Exit codes: 0 ok, 1 the server refused the request, 2 bad command line (or `serve` settings that allow
no root key), 3 server unreachable, 4 no such job (or tuning job, VM, bucket, key, account), 5/6/7
`jobs wait` (or `tuning wait`) ended Failed/Stopped/Completed outside `--ok-status`, 8 `wait --timeout`
ran out, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from app.cli import admin, common, infra, jobs, s3, server, tuning
from app.cli.server import serve, serve_command, settings_from
from app.client import (
    ArtifactError,
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    is_not_found,
)
from app.client.errors import NOT_FOUND_MESSAGE

__all__ = ["main", "run", "serve", "settings_from"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagelite",
        description="A self-hosted SageMaker training service.",
        epilog="Client commands sign every request (SigV4) with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
        "(and AWS_SESSION_TOKEN) from the environment. With neither set and a loopback endpoint, they use "
        "the root key test / test that a server bound to loopback creates.",
        parents=[common.common_options()],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server.add_parser(commands)
    jobs.add_parser(commands)
    tuning.add_parser(commands)
    infra.add_parsers(commands)
    s3.add_parser(commands)
    admin.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    code = run(argv)
    if code != common.OK:
        raise SystemExit(code)


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, run one command, and turn what went wrong into one line on stderr and an exit code."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    ctx = common.context(args)
    try:
        code: int = args.client_handler(args, ctx)
        return code
    except EndpointConnectionError:
        return _fail(
            f"cannot reach the sagelite server at {ctx.endpoint_url}: is it running? "
            f"(`sagelite serve` starts one; --endpoint-url or ${common.ENDPOINT_ENV} points elsewhere)",
            common.UNREACHABLE,
        )
    except HTTPClientError as error:
        return _fail(f"lost the connection to {ctx.endpoint_url}: {error.error}", common.UNREACHABLE)
    except ClientError as error:
        if is_not_found(error):
            return _fail(_not_found(args, error), common.NOT_FOUND)
        info = error.response.get("Error", {})
        return _fail(f"{info.get('Code')}: {info.get('Message')}", common.REFUSED)
    except (common.CommandError, ArtifactError) as error:
        return _fail(str(error), getattr(error, "code", common.REFUSED))
    except KeyboardInterrupt:
        return _fail("interrupted", common.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`sagelite jobs logs X | head`): not an error; keep Python quiet at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return common.OK
    finally:
        ctx.client.close()


def _serve(args: argparse.Namespace) -> int:
    from app.auth.bootstrap import BootstrapError  # light: the server's modules load in `serve` alone

    try:
        return serve_command(args)
    except BootstrapError as error:
        return _fail(str(error), common.USAGE)


def _not_found(args: argparse.Namespace, error: ClientError) -> str:
    message = str(error.response.get("Error", {}).get("Message", ""))
    name = getattr(args, "name", None)
    if name is not None and message == NOT_FOUND_MESSAGE:
        kind = "tuning job" if args.command == "tuning" else "training job"
        return f"{kind} {name!r} does not exist"
    return message or "not found"


def _fail(message: str, code: int) -> int:
    sys.stdout.flush()
    print(f"sagelite: {message}", file=sys.stderr)
    return code
