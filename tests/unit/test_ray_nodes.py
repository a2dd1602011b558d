"""A Ray cluster's nodes as hosts, and the channel objects a remote VM is told to download."""

from __future__ import annotations

from typing import Any

import pytest

from app.runtime import channels
from app.runtime.ray import nodes
from app.runtime.ray.nodes import Overcommit

GIB = 1024**3


def _node(node_id: str, address: str, *, alive: bool = True, **resources: float) -> dict[str, Any]:
    return {"NodeID": node_id, "NodeManagerAddress": address, "Alive": alive, "Resources": resources}


def test_alive_nodes_with_cpus_are_hosts_with_their_resources_overcommitted() -> None:
    listed = [
        _node("b" * 56, "10.0.0.2", CPU=8, memory=32 * GIB, GPU=2, disk_gib=500),
        _node("a" * 56, "10.0.0.1", CPU=4, memory=16 * GIB),
        _node("c" * 56, "10.0.0.3", memory=64 * GIB),  # a head with --num-cpus 0: no host
        _node("d" * 56, "10.0.0.4", alive=False, CPU=4, memory=16 * GIB),  # gone
    ]
    found = nodes.hosts_of(listed, overcommit=Overcommit(cpu=4, memory=2, disk=1))
    assert [(n.node_id[0], n.host.name, n.address) for n in found] == [
        ("a", "10.0.0.1-aaaaaaaa", "10.0.0.1"),
        ("b", "10.0.0.2-bbbbbbbb", "10.0.0.2"),
    ]
    small, big = (n.host for n in found)
    assert (small.vcpus, small.memory_gib, small.gpus, small.disk_gib) == (16, 32, 0, nodes.DEFAULT_DISK_GIB)
    assert (big.vcpus, big.memory_gib, big.gpus, big.disk_gib) == (32, 64, 2, 500)


def test_two_nodes_on_one_address_are_two_hosts() -> None:
    listed = [_node("1" * 56, "10.0.0.1", CPU=1, memory=GIB), _node("2" * 56, "10.0.0.1", CPU=1, memory=GIB)]
    assert len({n.host.name for n in nodes.hosts_of(listed, overcommit=Overcommit())}) == 2


@pytest.mark.parametrize(
    ("relative", "inside"),
    [
        ("a.csv", True),
        ("d/e/a.csv", True),
        ("../a.csv", False),
        ("d/../../a", False),
        ("/etc/x", False),
        (".", False),
    ],
)
def test_a_channel_object_must_land_inside_its_channel(relative: str, inside: bool) -> None:
    assert channels.stays_inside(relative) is inside
