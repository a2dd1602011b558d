"""When each byte of a VM's log was written: the `.times` file next to the `.log` (standard library only:
the launch wrapper's pump writes it).

The log itself stays plain text, byte for byte what the VM printed (the REST route, `sagelite logs` and
the metric scanner read it unchanged). Its times sit beside it as fixed-size records `(offset, ms)`:
the log's bytes from `offset` on were written at `ms` (Unix milliseconds), until the next record. A
record is written only when the millisecond changed, and before the bytes it stamps (a reader reads the
log first, then the times, so every byte it saw has its record). A log event (a line, or a piece of a
long one) takes the time of its first byte. Records count against the VM's log cap with the text, so
the cap bounds both files. Logs streamed from another node come with their times and are written here
the same way (`TimesWriter`); logs from before this file existed have no records: their events take a
fallback time (the stream's start).
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

RECORD = struct.Struct("<QQ")  # offset in the log, Unix ms
SUFFIX = ".times"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TimesWriter:
    """Appends records to an open file; times never go backwards (a clock stepped back repeats the last)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.last_ms = -1

    def needs_record(self, ms: int) -> bool:
        return max(ms, self.last_ms) != self.last_ms

    def stamp(self, *, offset: int, ms: int) -> int:
        """Record that the bytes from `offset` were written at `ms`; returns the bytes written (0 or one
        record)."""
        if not self.needs_record(ms):
            return 0
        self.last_ms = ms
        os.write(self._fd, RECORD.pack(offset, ms))
        return RECORD.size


@dataclass(frozen=True, slots=True)
class Times:
    """A snapshot of a log's records, searched without reading them all (a bisection of `pread`s)."""

    fd: int
    count: int
    fallback_ms: int  # the time of bytes before the first record (logs written before records existed)

    def record(self, index: int) -> tuple[int, int]:
        offset, ms = RECORD.unpack(os.pread(self.fd, RECORD.size, index * RECORD.size))
        return offset, ms

    def records(self, first: int, stop: int) -> list[tuple[int, int]]:
        """Records `first` up to `stop` (excluded), in one read."""
        data = os.pread(self.fd, (stop - first) * RECORD.size, first * RECORD.size)
        return [RECORD.unpack_from(data, at) for at in range(0, len(data) - RECORD.size + 1, RECORD.size)]

    def index_at(self, offset: int) -> int:
        """The index of the last record at or before `offset` (-1 when the first is past it)."""
        return self._bisect(lambda i: self.record(i)[0] <= offset) - 1

    def time_at(self, offset: int) -> int:
        """The time of the byte at `offset`: that of the last record at or before it."""
        index = self.index_at(offset)
        return self.record(index)[1] if index >= 0 else self.fallback_ms

    def times_at(self, offsets: Sequence[int]) -> list[int]:
        """The times of the bytes at ascending `offsets`: two bisections and one read, however many."""
        if not offsets or self.count == 0:
            return [self.fallback_ms] * len(offsets)
        first = max(self.index_at(offsets[0]), 0)
        stop = self.index_at(offsets[-1]) + 1
        records = self.records(first, max(stop, first))
        times, index = [], -1
        for offset in offsets:
            while index + 1 < len(records) and records[index + 1][0] <= offset:
                index += 1
            times.append(records[index][1] if index >= 0 else self.fallback_ms)
        return times

    def offset_from(self, ms: int) -> int | None:
        """Where the bytes written at `ms` or later begin, or None when none were (so far)."""
        if self.count == 0:
            return 0 if self.fallback_ms >= ms else None
        index = self._bisect(lambda i: self.record(i)[1] < ms)
        if index == 0:
            return 0 if self.fallback_ms >= ms else self.record(0)[0]
        return self.record(index)[0] if index < self.count else None

    def last_ms(self) -> int:
        return self.record(self.count - 1)[1] if self.count else self.fallback_ms

    def _bisect(self, before: Callable[[int], bool]) -> int:
        """The number of leading records for which `before(index)` holds (it holds for a prefix)."""
        low, high = 0, self.count
        while low < high:
            middle = (low + high) // 2
            if before(middle):
                low = middle + 1
            else:
                high = middle
        return low


def times_path(log_path: str | os.PathLike[str]) -> str:
    return os.fspath(log_path).removesuffix(".log") + SUFFIX


@contextlib.contextmanager
def reading(log_path: str | os.PathLike[str], *, fallback_ms: int) -> Iterator[Times]:
    """The records written so far beside `log_path` (none for a log without a times file)."""
    try:
        fd = os.open(times_path(log_path), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield Times(fd=-1, count=0, fallback_ms=fallback_ms)
        return
    try:
        # A record being appended is not whole yet: it counts once it is.
        yield Times(fd=fd, count=os.fstat(fd).st_size // RECORD.size, fallback_ms=fallback_ms)
    finally:
        os.close(fd)


@contextlib.contextmanager
def appending(log_path: str | os.PathLike[str]) -> Iterator[int]:
    """The times file beside `log_path`, open for appending, for a VM's pump to inherit."""
    fd = os.open(times_path(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)
