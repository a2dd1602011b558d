"""GetLogEvents over one stream: a page of events forward or backward from a position, within a time
range, with CloudWatch's forward and backward tokens.

Without a token, `startFromHead` reads forward from the first event at or after `startTime`, otherwise
backward from the last event before `endTime` (the newest events). A forward page that found nothing
hands back the position it was given, so at the end of a stream the forward token is the one passed in
(CloudWatch's way of saying "nothing new yet", which the SDKs poll on).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.cloudwatch.logs.positions import Position
from app.runtime.log_events import Event, LogFile

# CloudWatch's own bound on one response: 1 MB of events (or `limit` of them, 10,000 at most).
MAX_PAGE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Window:
    start_ms: int | None
    end_ms: int | None  # excluded

    def holds(self, ms: int) -> bool:
        return (self.start_ms is None or ms >= self.start_ms) and (self.end_ms is None or ms < self.end_ms)


@dataclass(frozen=True, slots=True)
class Page:
    events: list[Event]
    forward: Position
    backward: Position


def page(log: LogFile, *, window: Window, position: Position | None, from_head: bool, limit: int) -> Page:
    if position is not None:
        start = log.boundary_from(min(position.offset, log.end()))
        direction = position.direction
    elif from_head:
        start, direction = first_at(log, window.start_ms), "f"
    else:
        start, direction = first_at(log, window.end_ms, default=log.end()), "b"
    if direction == "f":
        return _forward(log, start, window=window, limit=limit)
    return _backward(log, start, window=window, limit=limit)


def first_at(log: LogFile, ms: int | None, *, default: int = 0) -> int:
    """The boundary of the first event written at `ms` or later (`default` without a time)."""
    if ms is None:
        return default
    offset = log.times.offset_from(ms)
    return log.end() if offset is None else min(log.boundary_from(offset), log.end())


def _forward(log: LogFile, start: int, *, window: Window, limit: int) -> Page:
    events: list[Event] = []
    position, size = start, 0
    while len(events) < limit and size < MAX_PAGE_BYTES and (batch := log.forward(position)):
        for event in batch:
            if window.end_ms is not None and event.timestamp >= window.end_ms:
                return _page(events, start, position)
            position = event.end
            if window.holds(event.timestamp):
                events.append(event)
                size += len(event.message)
                if len(events) == limit:
                    break
    return _page(events, start, position)


def _backward(log: LogFile, stop: int, *, window: Window, limit: int) -> Page:
    events: list[Event] = []
    position, size = stop, 0
    while len(events) < limit and size < MAX_PAGE_BYTES and position > 0:
        batch = log.backward(position)
        if not batch:
            break
        kept = [event for event in batch if window.holds(event.timestamp)]
        events = kept + events
        size += sum(len(event.message) for event in kept)
        position = batch[0].start
        if window.start_ms is not None and batch[0].timestamp < window.start_ms:
            break  # times only grow along a log: everything before is older still
    events = events[-limit:]
    return Page(
        events,
        forward=Position("f", events[-1].end if events else stop),
        backward=Position("b", events[0].start if events else position),
    )


def _page(events: list[Event], start: int, position: int) -> Page:
    return Page(
        events,
        forward=Position("f", position),
        backward=Position("b", events[0].start if events else start),
    )
