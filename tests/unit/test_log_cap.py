"""The per-VM log cap of the launch wrapper's pump: the kept bytes, then one marker line."""

from __future__ import annotations

import os
from pathlib import Path

from app.runtime.launch import CappedLog, marker


def _log(tmp_path: Path, cap: int, *writes: bytes) -> tuple[bytes, CappedLog]:
    path = tmp_path / "vm.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        log = CappedLog(fd, cap)
        for data in writes:
            log.write(data)
    finally:
        os.close(fd)
    return path.read_bytes(), log


def test_output_under_the_cap_is_kept_as_written(tmp_path: Path) -> None:
    written, log = _log(tmp_path, 100, b"one\n", b"two\n")
    assert written == b"one\ntwo\n" and not log.truncated


def test_output_past_the_cap_is_cut_there_and_marked_on_a_line_of_its_own(tmp_path: Path) -> None:
    written, log = _log(tmp_path, 10, b"abcdef", b"ghijklmnop", b"later\n")
    assert written == b"abcdefghij\n" + marker(10)
    assert log.truncated and log.written == 10
    assert b"log truncated at 10 bytes" in marker(10)


def test_a_cut_at_a_line_end_needs_no_extra_newline(tmp_path: Path) -> None:
    written, _ = _log(tmp_path, 4, b"abc\n", b"more")
    assert written == b"abc\n" + marker(4)
