"""The runc command line, for one state directory (`--root`): the few commands the executor uses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_TIMEOUT = 30.0
# argv: the fd to renumber, then the command to exec with it as fd 3 (dup2 leaves it inheritable).
_AS_FD_3 = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.execvp(sys.argv[2], sys.argv[2:])"


class RuncError(RuntimeError):
    """runc refused or failed; the message is its own."""


@dataclass(frozen=True, slots=True)
class Runc:
    binary: str
    state_dir: Path

    def run(
        self, *, container_id: str, bundle: Path, log: IO[bytes], times_fd: int | None = None
    ) -> subprocess.Popen[bytes]:
        """Start the container in the foreground: the returned process lives as long as its init and
        exits with its status; its output goes to `log`. `--keep` leaves the stopped container (and its
        cgroup, to read how it ended) until `delete`. `times_fd` is handed to the container as its fd 3
        (`--preserve-fds`: runc passes on fds from 3 up), through a trampoline that puts it there and
        execs runc (the same process: subprocess cannot renumber an fd without a preexec_fn)."""
        command = [*self._base(), "run", "--keep", "--bundle", str(bundle), container_id]
        if times_fd is not None:
            command[-1:-1] = ["--preserve-fds", "1"]
            command = [sys.executable, "-c", _AS_FD_3, str(times_fd), *command]
        return subprocess.Popen(
            command,
            pass_fds=(times_fd,) if times_fd is not None else (),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            # runc makes the mount points missing inside the VM's own mounts (the interpreter's folders
            # under its private /tmp, when the server lives under /tmp) with its umask: the server's 077
            # would leave them untraversable by the VM's user.
            umask=0o022,
        )

    def kill(self, container_id: str, signal_name: str, *, all_processes: bool = False) -> None:
        self._call(["kill", *(["--all"] if all_processes else []), container_id, signal_name])

    def delete(self, container_id: str, *, force: bool = False) -> None:
        self._call(["delete", *(["--force"] if force else []), container_id])

    def list_ids(self) -> list[str]:
        """Containers this state directory knows of, whatever their state."""
        if not self.state_dir.is_dir():
            return []
        listed = json.loads(self._call(["list", "--format", "json"]) or "null")
        return [entry["id"] for entry in listed or []]

    def _base(self) -> list[str]:
        return [self.binary, "--root", str(self.state_dir)]

    def _call(self, args: Sequence[str]) -> str:
        completed = subprocess.run(  # its own session, as `volume` explains
            [*self._base(), *args],
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
            text=True,
            start_new_session=True,
        )
        if completed.returncode != 0:
            raise RuncError(completed.stderr.strip() or f"runc {args[0]} exited {completed.returncode}")
        return completed.stdout


def usable(binary: str) -> str | None:
    """Why runc cannot run VMs here, or None when it can: installed, run as root, cgroups mounted."""
    if shutil.which(binary) is None:
        return f"{binary} is not installed"
    if os.geteuid() != 0:
        return "the server does not run as root"
    if not Path("/sys/fs/cgroup").is_dir():
        return "no cgroup file system is mounted"
    if shutil.which("tini") is None:
        return "tini (the VMs' init) is not installed"
    return None
