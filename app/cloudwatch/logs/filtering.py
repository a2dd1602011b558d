"""FilterLogEvents over several streams: the events matching a pattern in a time window, in time order
across the streams of a page, with a token holding each stream's position (the last page has none)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from app.cloudwatch.logs import events
from app.cloudwatch.logs.filter_pattern import FilterPattern
from app.cloudwatch.logs.streams import StreamInfo
from app.runtime import log_events
from app.runtime.log_events import Event, LogFile
from app.wire import tokens


@dataclass(frozen=True, slots=True)
class Found:
    stream: StreamInfo
    event: Event


@dataclass(frozen=True, slots=True)
class _Scan:
    found: list[Found]
    scanned_to: int  # where the scan stopped: what follows has not been looked at
    end: int


def filter_events(
    found_streams: list[StreamInfo],
    *,
    pattern: FilterPattern,
    window: events.Window,
    limit: int,
    token: str | None,
    filters: dict[str, Any],
    final: Callable[[StreamInfo], bool],
) -> dict[str, Any]:
    after: dict[str, int] = json.loads(tokens.decode(token, filters, kinds=(str,))[0]) if token else {}
    with ExitStack() as stack:
        scans = {}
        for stream in found_streams:
            log = stack.enter_context(
                log_events.opened(stream.path, fallback_ms=stream.creation_ms, final=final(stream))
            )
            start = after.get(stream.name, events.first_at(log, window.start_ms))
            scans[stream.name] = _scan(log, stream, start, pattern=pattern, window=window, limit=limit)
    merged = sorted(
        (item for scan in scans.values() for item in scan.found),
        key=lambda item: (item.event.timestamp, item.stream.name, item.event.start),
    )
    page = merged[:limit]
    positions = {name: _next(scan, page) for name, scan in scans.items()}
    result: dict[str, Any] = {"events": [_shown(item) for item in page], "searchedLogStreams": []}
    if any(positions[name] < scan.end for name, scan in scans.items()):
        result["nextToken"] = tokens.encode([json.dumps(positions, sort_keys=True)], filters)
    return result


def _scan(
    log: LogFile, stream: StreamInfo, start: int, *, pattern: FilterPattern, window: events.Window, limit: int
) -> _Scan:
    found: list[Found] = []
    position, scanned = start, 0
    end = log.end()
    while len(found) < limit and scanned < events.MAX_PAGE_BYTES and (batch := log.forward(position)):
        for event in batch:
            if window.end_ms is not None and event.timestamp >= window.end_ms:
                return _Scan(found, position, position)  # nothing later can be in the window
            position = event.end
            scanned += len(event.message)
            if window.holds(event.timestamp) and pattern.matches(_text(event)):
                found.append(Found(stream, event))
    return _Scan(found, position, end)


def _next(scan: _Scan, page: list[Found]) -> int:
    """After the stream's last event on the page, unless a matching event of it missed the page."""
    taken = {id(item) for item in page}
    missed = [item for item in scan.found if id(item) not in taken]
    return missed[0].event.start if missed else scan.scanned_to


def _text(event: Event) -> str:
    return event.message.decode("utf-8", "replace")


def _shown(item: Found) -> dict[str, Any]:
    event = item.event
    return {
        "logStreamName": item.stream.name,
        "timestamp": event.timestamp,
        "message": _text(event),
        "ingestionTime": event.timestamp,
        "eventId": f"{zlib.crc32(item.stream.name.encode()):010d}{event.start:046d}",
    }
