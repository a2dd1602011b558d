"""Per-VM log files, named like SageMaker's CloudWatch streams: `<job>/algo-1-<epoch>`.

They sit under the job's account (`logs/<account>/<job>/`): two accounts may each have a job of one name.

Every reader of a job's output goes through `Tail`, which reads a bounded chunk at a time: a line longer
than MAX_LINE_BYTES is handed on in pieces of that size (each a line of its own), so a job that prints
gigabytes without a newline never makes the server hold them whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MAX_LINE_BYTES = 256 * 1024
READ_CHUNK_BYTES = 1024 * 1024  # per file and read; at least MAX_LINE_BYTES, so every read makes progress


@dataclass(frozen=True, slots=True)
class Stream:
    name: str  # `<job>/algo-1-<epoch>`
    host: str  # `algo-1`
    path: Path


def job_dir(work_dir: Path, *, account_id: str, job_name: str) -> Path:
    return work_dir / "logs" / account_id / job_name


def stream_path(work_dir: Path, *, account_id: str, job_name: str, host: str, epoch: int) -> Path:
    return job_dir(work_dir, account_id=account_id, job_name=job_name) / f"{host}-{epoch}.log"


def streams(work_dir: Path, *, account_id: str, job_name: str) -> list[Stream]:
    """Every stream the job has written, ordered by host then start time (retries start new streams)."""
    found = []
    for path in job_dir(work_dir, account_id=account_id, job_name=job_name).glob("*.log"):
        host, _, epoch = path.stem.rpartition("-")
        found.append((host, int(epoch) if epoch.isdigit() else 0, path))
    return [Stream(f"{job_name}/{p.stem}", host, p) for host, _, p in sorted(found, key=lambda t: t[:2])]


class Tail:
    """The lines each file gained since the last read, at most READ_CHUNK_BYTES of them a call.

    A half-written last line shorter than MAX_LINE_BYTES waits for the next read, unless `final` says
    the writer is done. An empty answer means there is nothing more to read for now.
    """

    def __init__(self) -> None:
        self._offsets: dict[Path, int] = {}
        self._cut: dict[Path, bool] = {}

    def new_lines(self, path: Path, *, final: bool = False) -> list[bytes]:
        return [line for _, line in self.new_lines_at(path, final=final)]

    def new_lines_at(self, path: Path, *, final: bool = False) -> list[tuple[int, bytes]]:
        """The new lines with where each begins in the file (which finds its time in the `.times`)."""
        offset = self._offsets.get(path, 0)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return []
        try:
            data = os.pread(fd, READ_CHUNK_BYTES, offset)
        finally:
            os.close(fd)
        at_end = final and len(data) < READ_CHUNK_BYTES
        split = split_lines(data, at_end=at_end, after_cut=self._cut.get(path, False))
        self._offsets[path] = offset + split.used
        self._cut[path] = split.cut
        return [(offset + start, line) for start, line in zip(split.starts, split.lines, strict=True)]


@dataclass(frozen=True, slots=True)
class Split:
    lines: list[bytes]
    used: int  # bytes of the input the lines account for
    cut: bool  # the last line is a piece of a longer one: a newline that comes next only ends it
    starts: list[int] = field(default_factory=list, compare=False)  # where each line begins in the input


def split_lines(data: bytes, *, at_end: bool, after_cut: bool = False) -> Split:
    """The lines in `data` (without their newlines), pieces of MAX_LINE_BYTES for longer ones; an
    unterminated rest shorter than that is left unless `at_end`. After a cut (`after_cut`), a newline
    first in `data` ends the cut line rather than adding an empty one."""
    lines: list[bytes] = []
    starts: list[int] = []
    pos = 1 if after_cut and data[:1] == b"\n" else 0
    cut = after_cut and pos == 0
    while pos < len(data):
        newline = data.find(b"\n", pos, pos + MAX_LINE_BYTES + 1)
        if newline != -1:
            end, following, cut = newline, newline + 1, False
        elif len(data) - pos >= MAX_LINE_BYTES:
            end = following = pos + MAX_LINE_BYTES
            cut = True
        elif at_end:
            end = following = len(data)
            cut = False
        else:
            break
        starts.append(pos)
        lines.append(data[pos:end])
        pos = following
    return Split(lines, pos, cut, starts)
