"""`python -m app.runtime.launch [--memory-bytes N] [--cpus 0,1] [--max-log-bytes N] -- CMD...`: run a VM's
command within its limits.

Limits are set here rather than in a `preexec_fn` of the server, which is unsafe in a threaded process.
Without `--max-log-bytes` the wrapper execs the command. With it, the wrapper stays as the command's
parent and pumps the command's output (stdout and stderr, through a pipe) into its own stdout, the VM's
log file, up to N bytes: past them it writes a marker line and keeps reading and discarding, so the job
never blocks on a full pipe and the log never outgrows the cap. A separate small process (not a thread of
the server) does the copying and stamps what it copies with the time it read it (`--times-fd`, see
`app.runtime.log_times`), so a job printing gigabytes costs the server neither memory nor the GIL,
and the VM keeps running if the server dies. The wrapper leads the VM's process group: signals to the
group reach the command directly; the wrapper outlives a SIGTERM to drain what the command writes on its
way out, then ends as the command did (same exit code, or killed by the same signal).
Standard library only: it runs before every training process.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import os
import resource
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

from app.runtime import log_times  # standard library only, like this module

READ_BYTES = 1024 * 1024
_PR_SET_PDEATHSIG = 1  # prctl(2)
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux); a 1 MiB pipe means fewer wake-ups for a chatty job
_POLL_MS = 200  # how often the pump checks whether the command has exited (its children may hold the pipe)
_DRAIN_AFTER_EXIT_BYTES = 4 * READ_BYTES  # more than the pipe holds: all the command wrote before exiting


class CappedLog:
    """Writes to `fd` until `cap` bytes were written, then one marker line; later output is discarded.

    With `times`, each write is stamped first with the time it was read (`app.runtime.log_times`); the
    records count against the cap with the text, so the cap bounds both files.
    """

    def __init__(self, fd: int, cap: int, times: log_times.TimesWriter | None = None) -> None:
        self._fd, self._cap, self._times = fd, cap, times
        self._base = os.fstat(fd).st_size if times is not None else 0  # offsets are the log file's
        self.written = 0
        self.spent = 0  # the text and the time records
        self.truncated = False
        self._ends_line = True

    def write(self, data: bytes, *, now_ms: int | None = None) -> None:
        if self.truncated or not data:
            return
        ms = log_times.now_ms() if now_ms is None else now_ms
        stamping = self._times is not None and self._times.needs_record(ms)
        room = self._cap - self.spent - (log_times.RECORD.size if stamping else 0)
        kept = data[: max(room, 0)]
        if self._times is not None:
            self.spent += self._times.stamp(offset=self._base + self.written, ms=ms)
        _write_all(self._fd, kept)
        self.written += len(kept)
        self.spent += len(kept)
        if kept:
            self._ends_line = kept.endswith(b"\n")
        if len(kept) < len(data):
            self.truncated = True
            newline = b"" if self._ends_line else b"\n"
            _write_all(self._fd, newline + marker(self._cap))


def marker(cap: int) -> bytes:
    """The line that ends a truncated log."""
    return f"[sagelite] log truncated at {cap} bytes: later output of this VM was discarded\n".encode()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="app.runtime.launch")
    parser.add_argument("--memory-bytes", type=int)
    parser.add_argument("--cpus", help="comma-separated CPU ids the VM may run on")
    parser.add_argument("--max-log-bytes", type=int, help="cap on the output kept in the VM's log")
    parser.add_argument("--die-with-parent", type=int, metavar="PID", help="die when the parent, PID, does")
    parser.add_argument("--times-fd", type=int, help="an open file to write the log's time records to")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if args.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    limit_memory = _memory_limit(args.memory_bytes)
    if args.die_with_parent is not None:
        # The wrapper dies with its parent (and so does the command it execs: the request survives exec);
        # a command the wrapper pumps dies with the wrapper.
        die_with(args.die_with_parent)
        wrapper = os.getpid()
        limit_memory = _also(lambda: die_with(wrapper), limit_memory)
    if args.max_log_bytes is None:
        limit_memory()
        os.execvp(command[0], command)
    times = log_times.TimesWriter(args.times_fd) if args.times_fd is not None else None
    sys.exit(_run_pumped(command, cap=args.max_log_bytes, times=times, before_exec=limit_memory))


def _memory_limit(memory_bytes: int | None) -> Callable[[], None]:
    def apply() -> None:
        if memory_bytes:
            # Address space, not RSS: a process past it gets MemoryError / ENOMEM instead of the OOM killer.
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return apply


def die_with(parent: int) -> None:
    """Ask the kernel for SIGKILL when our parent dies (kept across exec); a parent that died before the
    request was made shows as our parent having changed."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def _also(first: Callable[[], None], then: Callable[[], None]) -> Callable[[], None]:
    def both() -> None:
        first()
        then()

    return both


def _run_pumped(
    command: Sequence[str], *, cap: int, times: log_times.TimesWriter | None, before_exec: Callable[[], None]
) -> int:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        # Caught, not ignored: a caught signal is reset to its default in the command at exec.
        signal.signal(sig, lambda *_: None)
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_end, _F_SETPIPE_SZ, READ_BYTES)
    log = CappedLog(sys.stdout.fileno(), cap, times)
    try:
        # The wrapper has one thread, so a preexec_fn is safe here.
        # The times file is the pump's alone: the command never inherits it (close_fds).
        child = subprocess.Popen(command, stdout=write_end, stderr=write_end, preexec_fn=before_exec)
    except OSError as error:
        log.write(f"[sagelite] cannot run {command[0]!r}: {error.strerror}\n".encode())
        return 127
    finally:
        os.close(write_end)
    _pump(read_end, child, log)
    return _exit_status(child.wait())


def _pump(read_end: int, child: subprocess.Popen[bytes], log: CappedLog) -> None:
    """Copy until the pipe ends, or until the command has exited and what the pipe held is read (a
    process it left behind may keep the pipe open: its later output is lost, as with a closed terminal)."""
    poller = select.poll()
    poller.register(read_end, select.POLLIN)
    after_exit = _DRAIN_AFTER_EXIT_BYTES
    while after_exit > 0:
        exited = child.poll() is not None
        if not poller.poll(0 if exited else _POLL_MS):
            if exited:
                return
            continue
        data = os.read(read_end, READ_BYTES)
        if not data:
            return
        log.write(data)
        if exited:
            after_exit -= len(data)


def _exit_status(returncode: int) -> int:
    if returncode >= 0:
        return returncode
    # Killed by a signal: end the same way, so the server sees what the VM's command saw.
    with contextlib.suppress(OSError, ValueError):  # SIGKILL cannot be handled: it needs no reset
        signal.signal(-returncode, signal.SIG_DFL)
    os.kill(os.getpid(), -returncode)
    return 128 - returncode


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    main(sys.argv[1:])
