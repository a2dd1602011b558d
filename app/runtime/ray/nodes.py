"""A Ray cluster's nodes as sagelite hosts (pure): what `ray.nodes()` says, turned into host capacity.

A node with no CPUs (a head started with `--num-cpus 0`, as the control plane only) is no host. Ray has no
disk resource: a node declares its disk as the custom resource `disk_gib` (`ray start --resources
'{"disk_gib": 500}'`), else it counts as DEFAULT_DISK_GIB, what a hosts file assumes. The overcommit
factors apply as they do to this machine's own host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.hosts.pool import HostSpec

GIB = 1024**3
DISK_RESOURCE = "disk_gib"
DEFAULT_DISK_GIB = 100.0


@dataclass(frozen=True, slots=True)
class Overcommit:
    cpu: float = 1.0
    memory: float = 1.0
    disk: float = 1.0


@dataclass(frozen=True, slots=True)
class NodeHost:
    """A live node and the host it is."""

    node_id: str
    host: HostSpec
    address: str  # the node's IP address: where the VMs of other nodes reach its VMs


def host_name(node: Mapping[str, Any]) -> str:
    """The node's address and the start of its id: readable, and distinct for nodes sharing an address."""
    return f"{node['NodeManagerAddress']}-{str(node['NodeID'])[:8]}"


def hosts_of(nodes: Iterable[Mapping[str, Any]], *, overcommit: Overcommit) -> list[NodeHost]:
    """The alive nodes that have CPUs, sorted by host name."""
    found = []
    for node in nodes:
        resources = node.get("Resources") or {}
        cpus = float(resources.get("CPU", 0.0))
        if not node.get("Alive") or cpus <= 0:
            continue
        spec = HostSpec(
            name=host_name(node),
            vcpus=cpus * overcommit.cpu,
            memory_gib=round(float(resources.get("memory", 0.0)) / GIB * overcommit.memory, 1),
            gpus=int(resources.get("GPU", 0)),
            disk_gib=round(float(resources.get(DISK_RESOURCE, DEFAULT_DISK_GIB)) * overcommit.disk, 1),
        )
        found.append(
            NodeHost(node_id=str(node["NodeID"]), host=spec, address=str(node["NodeManagerAddress"]))
        )
    return sorted(found, key=lambda n: n.host.name)
