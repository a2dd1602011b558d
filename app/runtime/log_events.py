"""A VM's log as events at byte offsets, the way CloudWatch Logs hands them out: each line (or each
MAX_LINE_BYTES piece of a longer one, as `logs.split_lines` cuts them) with where it starts and ends in
the file and the time of its first byte (`log_times`).

Offsets are what a reader's position is made of: an event boundary stays the same however much the log
grows, so a position handed out once stays valid. Each read covers at most READ_CHUNK_BYTES of the log.
A half-written last line is no event until it is complete (or `final` says its writer is done).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.runtime import log_times
from app.runtime.logs import MAX_LINE_BYTES, READ_CHUNK_BYTES, split_lines


@dataclass(frozen=True, slots=True)
class Event:
    start: int  # offset of its first byte in the log
    end: int  # offset of what follows it (past its newline)
    timestamp: int  # Unix ms
    message: bytes


@dataclass(frozen=True)
class LogFile:
    """One open log and its times (both read as they are now)."""

    fd: int
    size: int
    times: log_times.Times
    final: bool

    def end(self) -> int:
        """Where the complete events end: the file's end once final, else after the last whole line or
        piece."""
        if self.final:
            return self.size
        start = self.line_start(self.size)
        return start + (self.size - start) // MAX_LINE_BYTES * MAX_LINE_BYTES

    def line_start(self, offset: int) -> int:
        """Where the line holding the byte at `offset` begins (after the newline before it, or 0)."""
        pos = offset
        while pos > 0:
            low = max(0, pos - READ_CHUNK_BYTES)
            newline = os.pread(self.fd, pos - low, low).rfind(b"\n")
            if newline != -1:
                return low + newline + 1
            pos = low
        return 0

    def boundary_from(self, offset: int) -> int:
        """The first event boundary at or after `offset` (a line start, or the start of a piece)."""
        start = self.line_start(offset)
        if start == offset:
            return offset
        piece = start + -(-(offset - start) // MAX_LINE_BYTES) * MAX_LINE_BYTES
        newline = os.pread(self.fd, piece - offset, offset).find(b"\n")
        return offset + newline + 1 if newline != -1 else piece

    def forward(self, start: int) -> list[Event]:
        """The events from the boundary `start` on, from at most READ_CHUNK_BYTES of the log."""
        stop = self.end()
        if start >= stop:
            return []
        data = os.pread(self.fd, min(READ_CHUNK_BYTES, stop - start), start)
        return self._events(start, data, at_end=start + len(data) >= stop and self.final)

    def backward(self, stop: int) -> list[Event]:
        """The events that end at or before the boundary `stop`, from at most READ_CHUNK_BYTES before it."""
        start = self.boundary_from(max(0, stop - READ_CHUNK_BYTES))
        if start >= stop:  # one piece longer than the window: begin at its own start
            start = self.boundary_from(max(0, stop - MAX_LINE_BYTES))
        return self._events(start, os.pread(self.fd, stop - start, start), at_end=True)

    def _events(self, start: int, data: bytes, *, at_end: bool) -> list[Event]:
        after_cut = start > 0 and os.pread(self.fd, 1, start - 1) != b"\n"
        split = split_lines(data, at_end=at_end, after_cut=after_cut)
        ends = [start + s for s in split.starts[1:]] + [start + split.used]
        starts = [start + s for s in split.starts]
        stamps = _Stamps(self.times, starts[0], ends[-1]) if starts else None
        return [
            Event(first, end, stamps.at(first) if stamps else 0, line)
            for first, end, line in zip(starts, ends, split.lines, strict=True)
        ]


class _Stamps:
    """The records covering a range of the log, read once, then searched in memory per event."""

    def __init__(self, times: log_times.Times, start: int, stop: int) -> None:
        self._fallback = times.fallback_ms
        first = max(0, times.index_at(start))
        last = times.index_at(stop)
        records = times.records(first, last + 1) if last >= 0 else []
        self._offsets = [offset for offset, _ in records]
        self._ms = [ms for _, ms in records]

    def at(self, offset: int) -> int:
        index = bisect.bisect_right(self._offsets, offset) - 1
        return self._ms[index] if index >= 0 else self._fallback


@contextmanager
def opened(path: Path, *, fallback_ms: int, final: bool) -> Iterator[LogFile]:
    """The log at `path` as it is now: the log is read first, then its times (see `log_times`)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        with log_times.reading(path, fallback_ms=fallback_ms) as times:
            yield LogFile(fd=fd, size=size, times=times, final=final)
    finally:
        os.close(fd)
