"""The server's endpoint as a job network sees it: a TCP relay listening on the job's gateway address.

The server keeps its one public bind (loopback by default); for each non-isolated job a listener on that
job's gateway address (an address only that job's bridge carries) copies bytes to and from the server's
own port. It is TCP only, so TLS, SigV4 and streaming pass through untouched. All relays share one
event loop on a daemon thread of their own, so they neither block on nor depend on the API's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK_BYTES = 64 * 1024
# Opening or closing a listener is a bind or a close on a local socket.
CONTROL_TIMEOUT_SECONDS = 10.0


@dataclass(slots=True)
class _Listener:
    server: asyncio.Server
    connections: set[asyncio.Task[None]] = field(default_factory=set)


class GatewayRelay:
    """Listeners keyed by job, each forwarding to `target` (host, port)."""

    def __init__(self, *, target: tuple[str, int]) -> None:
        self._target = target
        self._listeners: dict[str, _Listener] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def open(self, *, key: str, address: str) -> int:
        """Listens on `address` (a free port) for the job `key`; returns the port."""
        listener = self._call(self._listen(address))
        with self._lock:
            self._listeners[key] = listener
        port: int = listener.server.sockets[0].getsockname()[1]
        return port

    def close(self, key: str) -> None:
        """Stops listening for the job and cuts its open connections; unknown keys are ignored."""
        with self._lock:
            listener = self._listeners.pop(key, None)
        if listener is not None:
            self._call(self._shut(listener))

    def shutdown(self) -> None:
        """Closes every listener and stops the relay thread."""
        for key in list(self._listeners):
            self.close(key)
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())
        return future.result(timeout=CONTROL_TIMEOUT_SECONDS)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="gateway-relay", daemon=True).start()
            return self._loop

    async def _listen(self, address: str) -> _Listener:
        listener: _Listener | None = None

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert listener is not None
            task = asyncio.current_task()
            assert task is not None
            listener.connections.add(task)
            try:
                await self._relay(reader, writer)
            finally:
                listener.connections.discard(task)

        listener = _Listener(server=await asyncio.start_server(accept, address, 0))
        return listener

    async def _shut(self, listener: _Listener) -> None:
        listener.server.close()
        for task in list(listener.connections):
            task.cancel()
        await listener.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(_pump(reader, upstream_writer), _pump(upstream_reader, writer))
        finally:
            for end in (writer, upstream_writer):
                end.close()


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copies until end of stream, then half-closes the other side (HTTP clients may rely on it)."""
    with contextlib.suppress(ConnectionError):
        while chunk := await source.read(CHUNK_BYTES):
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
