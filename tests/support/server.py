"""Start the real `sagelite serve` on a free port for end-to-end tests, and stop it without leftovers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.client.auth import SigV4Auth
from app.client.sigv4 import Credentials
from tests.support.leftovers import sweep_networks, sweep_volumes
from tests.support.polling import STALL_GUARD, wait_until
from tests.support.tls import TlsFiles

# The root key a server bound to loopback creates when none is configured.
ROOT_KEY = ROOT_SECRET = "test"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": ROOT_KEY,
    "AWS_SECRET_ACCESS_KEY": ROOT_SECRET,
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Signs a test's own HTTP requests (REST, JSON) as the root key.
ROOT_AUTH = SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET))


def signed(**kwargs: Any) -> httpx.Client:
    """An httpx client that signs every request as the root key (`sagemaker` service, us-east-1)."""
    return httpx.Client(auth=ROOT_AUTH, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    tls: TlsFiles | None = None  # HTTPS with this certificate, which clients verify against

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What httpx's `verify=` needs to trust this server."""
        if self.tls is None:
            return True
        return ssl.create_default_context(cafile=str(self.tls.certfile))


@contextmanager
def running_server(
    data_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    timeout: float = STALL_GUARD,
    tls: TlsFiles | None = None,
    host: str | None = None,
) -> Iterator[Server]:
    """Run the server in its own process group; kill the whole group on exit. With `tls`, over HTTPS;
    with `host`, listening on that address only (the root key must then be given in `env`)."""
    port = port or free_port()
    log = data_dir.parent / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    if host is not None:
        command += ["--host", host]
    if tls is not None:
        command += ["--certfile", str(tls.certfile), "--keyfile", str(tls.keyfile)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    scheme = "http" if tls is None else "https"
    url = f"{scheme}://{host or '127.0.0.1'}:{port}"
    server = Server(url=url, data_dir=data_dir, process=process, log=log, tls=tls)
    try:
        wait_healthy(server, timeout=timeout)
        yield server
    finally:
        # A server the test killed leaves its networks for its next start to recover (which crash tests
        # check, so they must stay); one that shut down must have removed them itself.
        graceful = stop(server)
        left = sweep_networks(data_dir) if graceful else []
        if graceful:
            sweep_volumes(data_dir)
    assert not left, f"the server shut down but left job network objects: {left}"


def wait_healthy(server: Server, *, timeout: float) -> None:
    verify = server.verify

    def healthy() -> bool:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()}")
        try:
            return httpx.get(f"{server.url}/healthz", timeout=1.0, verify=verify).status_code == 200
        except httpx.TransportError as error:
            if _certificate_refused(error):
                raise  # listening, but not with the certificate given: waiting will not help
            return False

    try:
        wait_until(healthy, what=f"{server.url}/healthz to answer 200", timeout=timeout)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{server.log.read_text()}") from None


def _certificate_refused(error: BaseException | None) -> bool:
    while error is not None:
        if isinstance(error, ssl.SSLCertVerificationError):
            return True
        error = error.__cause__ or error.__context__
    return False


def stop(server: Server, *, sig: int = signal.SIGTERM) -> bool:
    """Stop the server and everything it started (its process group). True when the server was still
    running and ended on `sig` by itself: its shutdown (stop grace of its VMs, uploads, network
    detaches) ran to the end, which is what a SIGKILL after a fixed few seconds used to cut short."""
    graceful = False
    if server.process.poll() is None:
        _signal_group(server.process.pid, sig)
        try:
            server.process.wait(timeout=STALL_GUARD)
            graceful = sig != signal.SIGKILL
        except subprocess.TimeoutExpired:
            _signal_group(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)
    _signal_group(server.process.pid, signal.SIGKILL)
    return graceful


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
