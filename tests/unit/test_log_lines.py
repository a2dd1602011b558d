"""Bounded reads of a job's output: lines past MAX_LINE_BYTES are split, reads take a bounded chunk."""

from __future__ import annotations

from pathlib import Path

from app.runtime import logs
from app.runtime.logs import MAX_LINE_BYTES, READ_CHUNK_BYTES, Split, Tail, split_lines


def test_complete_lines_are_split_on_newlines_and_a_short_rest_waits() -> None:
    assert split_lines(b"a\nbb\ncc", at_end=False) == Split([b"a", b"bb"], 5, cut=False)


def test_the_rest_is_a_line_of_its_own_at_the_end() -> None:
    assert split_lines(b"a\ncc", at_end=True) == Split([b"a", b"cc"], 4, cut=False)


def test_a_line_of_exactly_the_maximum_stays_whole() -> None:
    line = b"x" * MAX_LINE_BYTES
    assert split_lines(line + b"\nnext\n", at_end=False) == Split([line, b"next"], MAX_LINE_BYTES + 6, False)


def test_a_longer_line_comes_in_pieces_of_the_maximum() -> None:
    data = b"y" * (2 * MAX_LINE_BYTES + 10) + b"\n"
    split = split_lines(data, at_end=False)
    assert [len(line) for line in split.lines] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 10]
    assert split.used == len(data) and not split.cut


def test_an_unterminated_rest_of_the_maximum_is_handed_on_without_waiting() -> None:
    split = split_lines(b"z" * (MAX_LINE_BYTES + 3), at_end=False)
    assert [len(line) for line in split.lines] == [MAX_LINE_BYTES]
    assert split.used == MAX_LINE_BYTES and split.cut


def test_the_newline_that_ends_a_cut_line_read_later_adds_no_empty_line(tmp_path: Path) -> None:
    path = tmp_path / "algo-1-1.log"
    path.write_bytes(b"z" * MAX_LINE_BYTES)  # the writer has not written the newline yet
    tail = Tail()
    assert [len(line) for line in tail.new_lines(path)] == [MAX_LINE_BYTES]
    with path.open("ab") as f:
        f.write(b"\nnext\n\n")
    assert tail.new_lines(path) == [b"next", b""]  # a newline after a whole line is an empty line


def test_tail_reads_a_file_without_newlines_one_bounded_chunk_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "algo-1-1.log"
    path.write_bytes(b"q" * (3 * READ_CHUNK_BYTES + 5))
    tail = Tail()
    chunks = []
    while lines := tail.new_lines(path):
        assert sum(len(line) for line in lines) <= READ_CHUNK_BYTES
        assert all(len(line) <= MAX_LINE_BYTES for line in lines)
        chunks.append(lines)
    assert sum(len(line) for lines in chunks for line in lines) == 3 * READ_CHUNK_BYTES  # 5 bytes wait
    assert tail.new_lines(path, final=True) == [b"qqqqq"]
    assert tail.new_lines(path, final=True) == []


def test_tail_picks_up_what_was_appended_and_a_missing_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "algo-1-1.log"
    tail = Tail()
    assert tail.new_lines(path) == []
    path.write_bytes(b"one\ntw")
    assert tail.new_lines(path) == [b"one"]
    with path.open("ab") as f:
        f.write(b"o\n")
    assert tail.new_lines(path) == [b"two"]


def test_streams_are_ordered_by_host_then_start(tmp_path: Path) -> None:
    for host, epoch in (("algo-2", 5), ("algo-1", 9), ("algo-1", 3)):
        path = logs.stream_path(tmp_path, account_id="123456789012", job_name="job", host=host, epoch=epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    found = logs.streams(tmp_path, account_id="123456789012", job_name="job")
    assert [s.name for s in found] == ["job/algo-1-3", "job/algo-1-9", "job/algo-2-5"]
