"""What a test sees of a real server's VMs on this machine, whichever executor `auto` picked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.runtime.oci import host_net, net_plan, network, runc
from app.runtime.oci.cgroups import Cgroups
from app.runtime.oci.executor import server_key
from tests.support.server import ROOT_AUTH, Server


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


def network_objects(data_dir: Path) -> list[str]:
    """The job network namespaces, bridges, veths and nftables tables on this machine of the server with
    this data directory."""
    owner = net_plan.owner_tag(str((data_dir / "network").resolve()))
    links = host_net.list_links()
    names = [*host_net.list_netns(), *(link.name for link in links), *host_net.list_tables()]
    mine = [name for name in names if (parsed := net_plan.parse_name(name)) and parsed[0] == owner]
    return mine + [link.name for link in links if link.master and link.master.startswith(f"sl-{owner}-")]
