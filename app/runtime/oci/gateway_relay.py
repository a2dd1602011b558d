"""The server's endpoint as a job network sees it: a TCP relay listening on the job's gateway address.

The server keeps its one public bind (loopback by default); for each non-isolated job a listener on that
job's gateway address (an address only that job's bridge carries) copies bytes to and from the server's
own port. It is TCP only, so TLS, SigV4 and streaming pass through untouched. It runs on threads of its
own (one accepting per job, two copying per connection, each mostly asleep in a system call), so it
neither waits on nor is slowed by the API's event loop.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

CHUNK_BYTES = 256 * 1024


@dataclass(slots=True)
class _Listener:
    listening: socket.socket
    closed: bool = False
    # Both ends of every open connection, so that closing the listener can cut them.
    ends: set[socket.socket] = field(default_factory=set)


class GatewayRelay:
    """Listeners keyed by job, each forwarding to `target` (host, port)."""

    def __init__(self, *, target: tuple[str, int]) -> None:
        self._target = target
        self._listeners: dict[str, _Listener] = {}
        self._lock = threading.Lock()

    def open(self, *, key: str, address: str) -> int:
        """Listens on `address` (a free port) for the job `key`; returns the port."""
        listener = _Listener(listening=socket.create_server((address, 0)))
        with self._lock:
            self._listeners[key] = listener
        threading.Thread(target=self._accept, args=(listener,), name=f"relay-{key}", daemon=True).start()
        port: int = listener.listening.getsockname()[1]
        return port

    def close(self, key: str) -> None:
        """Stops listening for the job and cuts its open connections; unknown keys are ignored."""
        with self._lock:
            listener = self._listeners.pop(key, None)
            if listener is None:
                return
            listener.closed = True
            ends = list(listener.ends)
        for end in [listener.listening, *ends]:
            _cut(end)  # wakes the threads blocked on them, which then close them

    def shutdown(self) -> None:
        """Closes every listener."""
        with self._lock:
            keys = list(self._listeners)
        for key in keys:
            self.close(key)

    def _accept(self, listener: _Listener) -> None:
        with listener.listening:
            while True:
                try:
                    client, _ = listener.listening.accept()
                except OSError:  # the listener was cut
                    return
                threading.Thread(target=self._serve, args=(listener, client), daemon=True).start()

    def _serve(self, listener: _Listener, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            try:
                upstream = stack.enter_context(socket.create_connection(self._target))
            except OSError:
                return  # the server is down: the client sees its connection close
            if not self._track(listener, client, upstream):
                return
            try:
                to_server = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
                to_server.start()
                _pump(upstream, client)
                to_server.join()
            finally:
                with self._lock:
                    listener.ends.difference_update((client, upstream))

    def _track(self, listener: _Listener, client: socket.socket, upstream: socket.socket) -> bool:
        """Registers a connection, unless its job's listener closed meanwhile."""
        with self._lock:
            if listener.closed:
                return False
            listener.ends.update((client, upstream))
            return True


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copies until end of stream, then half-closes the other side (HTTP clients may rely on it)."""
    buffer = memoryview(bytearray(CHUNK_BYTES))
    with contextlib.suppress(OSError):
        while received := source.recv_into(buffer):
            sink.sendall(buffer[:received])
        sink.shutdown(socket.SHUT_WR)


def _cut(end: socket.socket) -> None:
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)
