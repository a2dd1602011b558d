"""What a test sees of a real server's VMs on this machine, whichever executor `auto` picked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from app.runtime.oci.cgroups import Cgroups
from app.runtime.oci.executor import server_key
from tests.support.server import ROOT_AUTH, Server


def isolation(server: Server) -> str:
    """`oci` or `process`, as /v1/hosts reports it."""
    answer: str = httpx.get(f"{server.url}/v1/hosts", verify=server.verify, auth=ROOT_AUTH).json()[
        "isolation"
    ]
    return answer


def cgroups(server: Server) -> Cgroups:
    """The server's VM cgroups (OCI isolation)."""
    return Cgroups(prefix=f"{server_key(server.data_dir)}-")


def paused(server: Server, vm: dict[str, Any]) -> bool:
    """The VM's processes are frozen: its cgroup's freezer (OCI), or its process stopped (T)."""
    if isolation(server) == "oci":
        return cgroups(server).frozen(vm["id"])
    return Path(f"/proc/{vm['pid']}/stat").read_text().split()[2] == "T"
