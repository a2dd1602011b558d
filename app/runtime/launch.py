"""`python -m app.runtime.launch [--memory-bytes N] [--cpus 0,1] -- CMD...`: apply a VM's limits, then exec.

Limits are set in this short-lived wrapper rather than in a `preexec_fn`, which is unsafe in a threaded
server. Standard library only: it runs before every training process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="app.runtime.launch")
    parser.add_argument("--memory-bytes", type=int)
    parser.add_argument("--cpus", help="comma-separated CPU ids the VM may run on")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if args.memory_bytes:
        # Address space, not RSS: a process past it gets MemoryError / ENOMEM instead of the OOM killer.
        resource.setrlimit(resource.RLIMIT_AS, (args.memory_bytes, args.memory_bytes))
    if args.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
