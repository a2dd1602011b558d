"""FailureReason for a VM that exited non-zero: its failure file if it wrote one, else its log tail."""

from __future__ import annotations

import signal
from pathlib import Path

from app.runtime import contract

MAX_REASON = 1024
NO_SPACE = "No space left on device"  # strerror(ENOSPC)
_TAIL_BYTES = 4096
_OWN_PREFIXES = ("ClientError:", "AlgorithmError:", "InternalServerError:")
# What an executor writes as a VM's failure when the host under it is gone (a Ray node that left the
# cluster): the one failure a job's RetryStrategy restarts it after, as SageMaker does on instance loss.
HOST_LOST = "InternalServerError: host lost: "


def reason(
    root: Path,
    log: Path,
    exit_code: int | None,
    *,
    instance_type: str,
    memory_gib: float,
    volume_gib: float = 0.0,
    oom_killed: bool = False,
) -> str:
    """`AlgorithmError: ...` (or the algorithm's own `ClientError: ...`), at most 1024 characters.

    `oom_killed`: the kernel killed a process at the VM's memory limit (what a cgroup reports)."""
    written = _read(contract.layout(root).failure_file)
    tail = _tail(log)
    code = f"exit code {exit_code}" if exit_code is None or exit_code >= 0 else _signal_name(exit_code)
    if oom_killed or _out_of_memory(written + tail, exit_code):
        text = (
            f"AlgorithmError: the process ran out of memory: {instance_type} has {memory_gib:g} GiB "
            f"({code}). Choose a larger instance type or use less memory."
        )
    elif volume_gib and NO_SPACE in written + tail:
        text = (
            f"AlgorithmError: {NO_SPACE}: the instance's volume of {volume_gib:g} GiB "
            f"(ResourceConfig.VolumeSizeInGB) is full ({code}). Choose a larger VolumeSizeInGB."
        )
    elif written:
        # InternalServerError: written by the service itself (a Ray node's agent), never by a VM's code,
        # which cannot write the server's copy of the file: it comes back only from the node.
        prefix = "" if written.startswith(_OWN_PREFIXES) else "AlgorithmError: "
        text = f"{prefix}{written.strip()} ({code})"
    else:
        last = tail.strip().splitlines()[-5:]
        text = f"AlgorithmError: {code}" + (": " + " | ".join(last) if last else "")
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def host_lost(reason: str) -> bool:
    """Whether a VM failed because its host was lost, not because of anything it did."""
    return reason.startswith(HOST_LOST)


def _out_of_memory(text: str, exit_code: int | None) -> bool:
    return "MemoryError" in text or "Cannot allocate memory" in text or "std::bad_alloc" in text


def _signal_name(exit_code: int) -> str:
    try:
        return f"killed by {signal.Signals(-exit_code).name}"
    except ValueError:
        return f"exit code {exit_code}"


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[:MAX_REASON]
    except OSError:
        return ""


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - _TAIL_BYTES))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
