"""The gateway relay on loopback: bytes both ways, half-close, and closing cuts what is open."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from app.runtime.oci.gateway_relay import GatewayRelay


class _Upper(socketserver.BaseRequestHandler):
    """Reads to end of stream, then answers: only a relay that passes the half-close gets an answer."""

    def handle(self) -> None:
        chunks = []
        while chunk := self.request.recv(65536):
            chunks.append(chunk)
        self.request.sendall(b"".join(chunks).upper())


@pytest.fixture
def relay() -> Iterator[GatewayRelay]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Upper) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        relay = GatewayRelay(target=("127.0.0.1", server.server_address[1]))
        yield relay
        relay.shutdown()
        server.shutdown()


def _exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(payload)
        # A relay whose server is down may have closed already (ENOTCONN): the reply is then empty.
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_bytes_pass_both_ways_with_the_half_close(relay: GatewayRelay) -> None:
    port = relay.open(key="job", address="127.0.0.1")
    payload = bytes(range(97, 123)) * 100_000  # 2.6 MB: many chunks each way
    assert _exchange(port, payload) == payload.upper()
    assert _exchange(port, b"again") == b"AGAIN"


def test_closing_a_job_stops_its_listener_and_cuts_its_connections(relay: GatewayRelay) -> None:
    port = relay.open(key="job", address="127.0.0.1")
    other = relay.open(key="other", address="127.0.0.1")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as open_connection:
        open_connection.sendall(b"half a request")
        relay.close("job")
        with contextlib.suppress(ConnectionResetError):  # cut either way
            assert open_connection.recv(1024) == b""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
    assert _exchange(other, b"still here") == b"STILL HERE"
    relay.close("job")  # closing twice is harmless


def test_a_server_that_is_down_closes_the_connection() -> None:
    with socket.socket() as bound_not_listening:  # holds the port, so nothing else can take it
        bound_not_listening.bind(("127.0.0.1", 0))
        relay = GatewayRelay(target=("127.0.0.1", bound_not_listening.getsockname()[1]))
        try:
            port = relay.open(key="job", address="127.0.0.1")
            try:
                answer = _exchange(port, b"anyone?")
            except ConnectionResetError:  # closed before the request was fully sent: as good
                answer = b""
            assert answer == b""
        finally:
            relay.shutdown()
