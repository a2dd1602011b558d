"""A node whose agent died leaves the pool at once, before Ray's view of the cluster says it is gone."""

from __future__ import annotations

from typing import Any

import pytest
import ray

from app.hosts.pool import HostSpec
from app.runtime.ray import cluster as clusters
from app.runtime.ray.cluster import RayCluster
from app.runtime.ray.nodes import Overcommit

GIB = 1024**3


def _node(node_id: str, address: str) -> dict[str, Any]:
    return {
        "NodeID": node_id,
        "NodeManagerAddress": address,
        "Alive": True,  # Ray still counts it: its health checks have not failed yet
        "Resources": {"CPU": 2.0, "memory": 4 * GIB},
    }


def test_a_lost_node_leaves_the_pool_at_once_and_stays_out(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = [_node("a" * 56, "10.0.0.1"), _node("b" * 56, "10.0.0.2")]
    monkeypatch.setattr(ray, "nodes", lambda: listed)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    monkeypatch.setattr(clusters, "named_actors", lambda namespace: [])
    pushed: list[list[str]] = []

    def sink(hosts: list[HostSpec]) -> None:
        pushed.append([host.name for host in hosts])

    cluster = RayCluster(namespace="sagelite-test", overcommit=Overcommit(), sync_seconds=3600)
    first, second = (host.name for host in cluster.hosts())
    cluster.start_sync(sink)  # its first pass is an hour away: only `lost` pushes here
    try:
        cluster.lost(first)
        assert pushed == [[second]]  # handed to the pool before `lost` returns
        assert cluster.node_of(first) is None
        assert [host.name for host in cluster.hosts()] == [second]  # though Ray still lists it alive
        cluster.lost("10.0.0.9-unknown")  # no node of the cluster (gone already): nothing to push
        assert pushed == [[second]]
    finally:
        cluster.close()
