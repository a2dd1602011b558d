"""The environment a VM starts from: what a container image would set, never the server's own.

A server's environment holds its secrets (root credentials, tokens of the operator's shell). A training
container on SageMaker starts from its image's few variables plus SageMaker's own, so a VM inherits only
the locale, the time zone and what finds the interpreter and its libraries; everything else it sees is
computed for it (`sm_env`, the job's credentials).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

# Not secrets, and needed for the interpreter to start and decode text as the operator's shell does.
_INHERITED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH")
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def base_environment(server_env: Mapping[str, str], *, interpreter: Path, home: Path) -> dict[str, str]:
    """The variables every VM of this server starts with, before the job's own are added."""
    env = {name: server_env[name] for name in _INHERITED if name in server_env}
    # User code that runs `python` must find the service's interpreter (and its numpy) first.
    env["PATH"] = os.pathsep.join([str(interpreter.parent), _SYSTEM_PATH])
    env["HOME"] = str(home)
    return env
