"""`sagelite serve`: the API server with its scheduler and executor."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config import Settings


def add_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the API server with its scheduler and executor")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1, or SAGELITE_HOST)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000, or SAGELITE_PORT)")
    serve.add_argument(
        "--data-dir", type=Path, help="where the database and files live (default ./.sagelite)"
    )
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--log-format", choices=["text", "json"], help="text (default, or SAGELITE_LOG_FORMAT) or JSON lines"
    )
    serve.set_defaults(handler=lambda args: serve_command(args))


def serve_command(args: argparse.Namespace) -> int:
    serve(settings_from(args))
    return 0


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment and defaults first, then whatever the command line names."""
    from app.config import Settings  # imported here, as the server is: client commands start faster

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "host": args.host,
            "port": args.port,
            "data_dir": args.data_dir,
            "log_level": args.log_level,
            "log_format": args.log_format,
        }.items()
        if value is not None
    }
    return Settings(**overrides)


def serve(settings: Settings) -> None:
    import uvicorn

    from app import log_format
    from app.main import create_app

    # Before anything is created: every file the server (and each job it runs) writes is 0600, every
    # folder 0700 -- database, blobs, logs, VM folders -- whatever a code path forgets to say.
    os.umask(0o077)
    log_format.configure(level=settings.log_level, log_format=settings.log_format)
    # One worker: the scheduler and executor live in this process (several workers would start several).
    # No log_config: uvicorn's loggers then propagate to the root handler and share its format.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        workers=1,
    )
