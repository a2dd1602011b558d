"""`sagelite serve`: the API server with its scheduler and executor, over HTTP or (given a certificate and
its key) HTTPS."""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config import Settings

USAGE = 2  # exit code for a configuration that cannot work, as for a bad command line


def add_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the API server with its scheduler and executor")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1, or SAGELITE_HOST)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000, or SAGELITE_PORT)")
    serve.add_argument(
        "--data-dir", type=Path, help="where the database and files live (default ./.sagelite)"
    )
    serve.add_argument(
        "--database-url",
        help="metadata store (default SQLite under the data dir; postgresql+psycopg://... for several "
        "replicas; or SAGELITE_DATABASE_URL)",
    )
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--log-format", choices=["text", "json"], help="text (default, or SAGELITE_LOG_FORMAT) or JSON lines"
    )
    serve.add_argument(
        "--certfile", type=Path, help="PEM certificate (chain) to serve HTTPS with (or SAGELITE_CERTFILE)"
    )
    serve.add_argument("--keyfile", type=Path, help="its PEM private key, unencrypted (or SAGELITE_KEYFILE)")
    serve.add_argument(
        "--ray-address",
        help="run VMs on the nodes of this Ray cluster, e.g. ray://head:10001 (or SAGELITE_RAY_ADDRESS)",
    )
    serve.set_defaults(handler=lambda args: serve_command(args))


class StartupError(Exception):
    """The configuration cannot work; said in one line before anything starts."""


def serve_command(args: argparse.Namespace) -> int:
    try:
        serve(settings_from(args))
    except StartupError as error:
        print(f"sagelite: {error}", file=sys.stderr)
        return USAGE
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
            "database_url": args.database_url,
            "log_level": args.log_level,
            "log_format": args.log_format,
            "certfile": args.certfile,
            "keyfile": args.keyfile,
            "ray_address": args.ray_address,
        }.items()
        if value is not None
    }
    return Settings(**overrides)


def serve(settings: Settings) -> None:
    import uvicorn

    from app import connection_limits, log_format
    from app.main import create_app

    tls = checked_tls(settings)
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
        ssl_certfile=tls.certfile,
        ssl_keyfile=tls.keyfile,
        **connection_limits.uvicorn_options(
            connection_limits.ConnectionLimits(
                header_timeout=settings.header_timeout_seconds,
                body_timeout=settings.body_timeout_seconds,
                max_connections=settings.max_connections,
            ),
            keep_alive_timeout=settings.keep_alive_timeout_seconds,
        ),
    )


@dataclass(frozen=True)
class Tls:
    """The certificate and key uvicorn serves HTTPS with; neither for plain HTTP."""

    certfile: Path | None = None
    keyfile: Path | None = None


def checked_tls(settings: Settings) -> Tls:
    """The settings' certificate and key, once the pair is known to load; plain HTTP without either."""
    certfile, keyfile = settings.certfile, settings.keyfile
    if certfile is None and keyfile is None:
        return Tls()
    if certfile is None or keyfile is None:
        raise StartupError(
            "HTTPS needs a certificate and its private key: give both --certfile and --keyfile "
            "(or SAGELITE_CERTFILE and SAGELITE_KEYFILE)"
        )
    _check_pair(certfile, keyfile)
    return Tls(certfile=certfile, keyfile=keyfile)


def _check_pair(certfile: Path, keyfile: Path) -> None:
    # Loading the pair here turns what uvicorn would report as a traceback into one line; the password
    # callback stops OpenSSL from prompting on the terminal for an encrypted key.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile, password=_no_password)
    except OSError as error:
        if isinstance(error, ssl.SSLError):
            raise StartupError(
                f"{certfile} and {keyfile} are not a PEM certificate and its unencrypted private key "
                f"({error.reason or error})"
            ) from None
        raise StartupError(f"cannot read {error.filename or certfile}: {error.strerror}") from None


def _no_password() -> bytes:
    raise StartupError("the private key is encrypted; give an unencrypted one (readable by this user only)")
