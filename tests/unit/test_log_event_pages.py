"""CloudWatch-style pages over a log with its times: events at offsets, tokens that stay valid while the
log grows, time windows, pieces of long lines, and logs written before times were recorded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cloudwatch.errors import InvalidParameter
from app.cloudwatch.logs import events, positions
from app.cloudwatch.logs.events import Window
from app.cloudwatch.logs.positions import Position
from app.runtime import log_events, log_times
from app.runtime.launch import CappedLog
from app.runtime.logs import MAX_LINE_BYTES

ALL = Window(None, None)


class Writer:
    """A VM's pump, with a fake clock: each write is stamped with the time given."""

    def __init__(self, path: Path, cap: int = 1 << 30) -> None:
        self.path = path
        self._log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self._times = os.open(log_times.times_path(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self.capped = CappedLog(self._log, cap, log_times.TimesWriter(self._times))

    def write(self, data: bytes, ms: int) -> None:
        self.capped.write(data, now_ms=ms)

    def close(self) -> None:
        os.close(self._log)
        os.close(self._times)


def _page(path: Path, *, final: bool = True, **kwargs: object) -> events.Page:
    with log_events.opened(path, fallback_ms=7, final=final) as log:
        options: dict = {"window": ALL, "position": None, "from_head": True, "limit": 100} | kwargs
        return events.page(log, **options)


def _texts(page: events.Page) -> list[tuple[int, bytes]]:
    return [(event.timestamp, event.message) for event in page.events]


@pytest.fixture
def writer(tmp_path: Path) -> Writer:
    return Writer(tmp_path / "algo-1-100.log")


def test_each_line_keeps_the_time_its_first_byte_was_written(writer: Writer) -> None:
    writer.write(b"a\nb", 1000)
    writer.write(b"b\nc\n", 1005)
    writer.write(b"d\n", 1005)
    assert _texts(_page(writer.path)) == [(1000, b"a"), (1000, b"bb"), (1005, b"c"), (1005, b"d")]
    # one record per new millisecond only
    assert os.path.getsize(log_times.times_path(writer.path)) == 2 * log_times.RECORD.size


def test_forward_tokens_page_on_and_stay_put_at_the_end_while_the_stream_grows(writer: Writer) -> None:
    for index in range(5):
        writer.write(f"line {index}\n".encode(), 1000 + index)
    first = _page(writer.path, limit=2, final=False)
    assert [m for _, m in _texts(first)] == [b"line 0", b"line 1"]
    second = _page(writer.path, position=first.forward, final=False)
    assert [m for _, m in _texts(second)] == [b"line 2", b"line 3", b"line 4"]
    end = _page(writer.path, position=second.forward, final=False)
    assert end.events == [] and end.forward.token == second.forward.token
    writer.write(b"half", 2000)  # an unfinished line is no event while its writer runs
    assert _page(writer.path, position=second.forward, final=False).forward == second.forward
    writer.write(b" done\nline 6\n", 2001)
    grown = _page(writer.path, position=second.forward, final=False)
    assert _texts(grown) == [(2000, b"half done"), (2001, b"line 6")]


def test_backward_pages_walk_from_the_newest_events_to_the_head(writer: Writer) -> None:
    for index in range(5):
        writer.write(f"line {index}\n".encode(), 1000 + index)
    newest = _page(writer.path, from_head=False, limit=2)
    assert [m for _, m in _texts(newest)] == [b"line 3", b"line 4"]
    older = _page(writer.path, position=newest.backward, limit=2)
    assert [m for _, m in _texts(older)] == [b"line 1", b"line 2"]
    oldest = _page(writer.path, position=older.backward, limit=2)
    assert [m for _, m in _texts(oldest)] == [b"line 0"]
    assert _page(writer.path, position=oldest.backward).events == []
    back_again = _page(writer.path, position=older.forward, limit=2)
    assert [m for _, m in _texts(back_again)] == [b"line 3", b"line 4"]


def test_time_windows_include_the_start_and_exclude_the_end(writer: Writer) -> None:
    for index in range(6):
        writer.write(f"line {index}\n".encode(), 1000 + 10 * index)
    window = Window(1010, 1040)
    forward = _page(writer.path, window=window)
    assert [t for t, _ in _texts(forward)] == [1010, 1020, 1030]
    backward = _page(writer.path, window=window, from_head=False, limit=2)
    assert [t for t, _ in _texts(backward)] == [1020, 1030]
    between = _page(writer.path, window=Window(1011, 1019))
    assert between.events == []


def test_long_lines_come_in_pieces_each_with_its_own_boundary(writer: Writer) -> None:
    writer.write(b"x" * (MAX_LINE_BYTES + 10), 1000)
    writer.write(b"\nshort\n", 1001)
    page = _page(writer.path, limit=1)
    assert [len(m) for _, m in _texts(page)] == [MAX_LINE_BYTES]
    rest = _page(writer.path, position=page.forward)
    assert [(t, len(m)) for t, m in _texts(rest)] == [(1000, 10), (1001, 5)]
    newest = _page(writer.path, from_head=False)
    assert [len(m) for _, m in _texts(newest)] == [MAX_LINE_BYTES, 10, 5]


def test_a_log_without_times_reads_with_the_fallback_time(tmp_path: Path) -> None:
    path = tmp_path / "algo-1-100.log"
    path.write_bytes(b"old\nlines\n")
    assert _texts(_page(path)) == [(7, b"old"), (7, b"lines")]


def test_time_records_count_against_the_cap(tmp_path: Path) -> None:
    small = Writer(tmp_path / "algo-2-100.log", cap=40)
    for index in range(5):
        small.write(b"12345678\n", 1000 + index)
    text = small.path.read_bytes()
    times = os.path.getsize(log_times.times_path(small.path))
    # 16 + 9 bytes for the first write; the second's record and text would pass 40: the marker follows
    assert text.startswith(b"12345678\n[sagelite] log truncated at 40 bytes")
    assert times == 2 * log_times.RECORD.size  # the marker has its time too


@pytest.mark.parametrize("token", ["", "f/", "x/1/s", "f/12", "b/-1/s", "f/" + "1" * 57 + "/s"])
def test_tokens_not_issued_here_are_refused(token: str) -> None:
    with pytest.raises(InvalidParameter):
        positions.parse(token)


def test_tokens_round_trip_in_cloudwatch_form() -> None:
    token = Position("b", 1234).token
    assert token.startswith("b/") and token.endswith("/s") and len(token) == 60
    assert positions.parse(token) == Position("b", 1234)
