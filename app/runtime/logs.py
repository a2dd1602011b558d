"""Per-VM log files, named like SageMaker's CloudWatch streams: `<job>/algo-1-<epoch>`.

They sit under the job's account (`logs/<account>/<job>/`): two accounts may each have a job of one name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    """Complete lines each file gained since the last read; a half-written last line waits for the next."""

    def __init__(self) -> None:
        self._offsets: dict[Path, int] = {}

    def new_lines(self, path: Path) -> list[bytes]:
        offset = self._offsets.get(path, 0)
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return []
        complete = data.rfind(b"\n") + 1
        self._offsets[path] = offset + complete
        return data[:complete].splitlines()
