"""What a test sees of a real server's VMs on this machine, whichever executor `auto` picked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.runtime.oci import network, runc
from app.runtime.oci.cgroups import Cgroups
from app.runtime.oci.executor import server_key
from tests.support.leftovers import network_objects
from tests.support.server import ROOT_AUTH, Server

__all__ = ["cgroups", "isolation", "network_objects", "paused", "require_oci"]


def require_oci(*, networks: bool = True) -> None:
    """Skips a test the OCI executor (and, with `networks`, job networks) cannot run here; under CI=true
    that is a failure instead."""
    missing = runc.usable("runc")
    if not missing and networks:
        missing = network.unavailable(Settings())
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"the OCI executor cannot run here: {missing}")
    if missing:
        pytest.skip(f"the OCI executor cannot run here: {missing}")


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
