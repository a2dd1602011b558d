"""Stalled clients for connection-hygiene tests and benchmarks: sockets that send nothing, half a header,
or headers and half a body, and a normal client timing its requests meanwhile."""

from __future__ import annotations

import contextlib
import resource
import selectors
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

STALLS = (
    b"",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
    b"PUT /v1/objects/b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial",
)


@contextmanager
def file_limit(wanted: int) -> Iterator[None]:
    """Raise this process's soft RLIMIT_NOFILE for the block (bounded by the hard limit), then restore it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@contextmanager
def stalled_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` loopback connections, each stalled in one of the ways in STALLS; all closed at exit."""
    sockets: list[socket.socket] = []
    try:
        for index in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(STALLS[index % len(STALLS)])
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def wait_all_closed(sockets: list[socket.socket], *, timeout: float) -> tuple[int, float]:
    """Wait until the server closed each socket (EOF or reset); return how many it closed, and when the
    last one was closed (seconds from now), or `timeout` if some stayed open."""
    start = time.monotonic()
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        open_count, last = len(sockets), 0.0
        while open_count and time.monotonic() - start < timeout:
            for key, _ in selector.select(timeout=0.2):
                if _closed(key.fileobj):  # type: ignore[arg-type]
                    selector.unregister(key.fileobj)
                    open_count -= 1
                    last = time.monotonic() - start
    return len(sockets) - open_count, (last if open_count == 0 else timeout)


def _closed(sock: socket.socket) -> bool:
    try:
        while chunk := sock.recv(65536):
            del chunk  # a response (an over-cap 503) before the close: keep reading
    except BlockingIOError:
        return False
    except ConnectionError:
        return True
    return True


def latencies(url: str, *, requests: int) -> list[float]:
    """Seconds each of `requests` sequential `GET /healthz` took, on one kept-alive connection."""
    timings: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get("/healthz")
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
    return timings


def p99(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def status_of_new_request(port: int) -> int | None:
    """The status a fresh connection's `GET /healthz` gets, or None if the connection failed."""
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
    return None
