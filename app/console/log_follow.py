"""Following a job's logs as server-sent events: each VM's newest log, its last `LOG_TAIL_BYTES` first,
then the lines it gains, sent within `POLL_SECONDS` of being written; `end` once the job has ended and
its last lines are out.

A connection is bounded: after `MAX_SECONDS` or `MAX_BYTES` the server closes it, and the browser's
EventSource reconnects by itself, sending back the last event's id, which holds each stream's offset, so
nothing is sent twice or lost. Files are polled (a stat and a read per VM per poll), never held open.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from app.auth.caller import Caller
from app.console.job_view import LOG_TAIL_BYTES
from app.runtime import logs

POLL_SECONDS = 0.5
MAX_SECONDS = 300.0
MAX_BYTES = 4 * 1024 * 1024
_READ_BYTES = 64 * 1024  # the most one event carries


@dataclass(frozen=True)
class Chunk:
    host: str
    stream: str
    text: str
    end_offset: int
    reset: bool  # the stream is new to this browser: the text replaces what it shows for the host


def resume_offsets(last_event_id: str | None) -> dict[str, int]:
    """Each stream's offset from a reconnecting EventSource's Last-Event-ID; nothing if absent or garbled."""
    try:
        offsets = json.loads(last_event_id or "{}")
    except ValueError:
        return {}
    if not isinstance(offsets, dict):
        return {}
    return {str(k): v for k, v in offsets.items() if isinstance(v, int) and v >= 0}


def new_chunks(
    work_dir: Path, *, caller: Caller, job_name: str, offsets: dict[str, int], at_end: bool
) -> list[Chunk]:
    """What each VM's newest stream holds past its offset (a stream not in `offsets` from its tail), cut
    after the last complete line unless a line is longer than one read or the job has ended."""
    newest: dict[str, logs.Stream] = {}
    for stream in logs.streams(work_dir, account_id=caller.account_id, job_name=job_name):
        newest[stream.host] = stream  # oldest first per host
    chunks = []
    for host, stream in sorted(newest.items()):
        with stream.path.open("rb") as f:
            size = f.seek(0, 2)
            reset = stream.name not in offsets
            start = max(0, size - LOG_TAIL_BYTES) if reset else min(offsets[stream.name], size)
            f.seek(start)
            data = f.read(_READ_BYTES)
        whole = data if at_end or len(data) == _READ_BYTES else data[: data.rfind(b"\n") + 1]
        if whole or reset:
            text = whole.decode("utf-8", errors="replace")
            chunks.append(Chunk(host, stream.name, text, start + len(whole), reset))
    return chunks


async def events(
    *,
    read: Callable[[dict[str, int], bool], list[Chunk]],
    ended: Callable[[], bool],
    offsets: dict[str, int],
) -> AsyncIterator[str]:
    """The event stream: `log` events (`{"host", "text", "reset"}`, the offsets as id), then `end`."""
    started, sent = time.monotonic(), 0
    while True:
        finished = await run_in_threadpool(ended)  # asked first: the lines read next include the last ones
        for chunk in await run_in_threadpool(read, dict(offsets), finished):
            offsets[chunk.stream] = chunk.end_offset
            sent += len(chunk.text)
            body = json.dumps({"host": chunk.host, "text": chunk.text, "reset": chunk.reset})
            yield f"id: {json.dumps(offsets, separators=(',', ':'))}\nevent: log\ndata: {body}\n\n"
        if finished:
            yield "event: end\ndata: {}\n\n"
            return
        if sent >= MAX_BYTES or time.monotonic() - started >= MAX_SECONDS:
            return  # the browser reconnects with the last id
        await asyncio.sleep(POLL_SECONDS)
