"""Each Ray node's agent is created once, however many VMs are launched there at once."""

from __future__ import annotations

import threading

from app.runtime.ray.agents import NodeAgents

LAUNCHES = 8


def test_concurrent_launches_on_a_fresh_node_create_its_agent_once() -> None:
    """The first creation is held until the other launches have returned or a short while has passed:
    were they not made to wait for it, each would create an agent of its own (the drain's lost jobs)."""
    created: list[tuple[str, object]] = []
    others_returned = threading.Event()
    returned = []

    def create(node_id: str, address: str) -> object:
        handle = object()
        created.append((node_id, handle))
        if len(created) == 1:
            others_returned.wait(timeout=0.3)
        return handle

    agents = NodeAgents(create=create)
    start = threading.Barrier(LAUNCHES)

    def launch() -> None:
        start.wait(timeout=10)
        returned.append(agents.of("node-a", address="10.0.0.1"))
        if len(returned) == LAUNCHES - 1:
            others_returned.set()

    threads = [threading.Thread(target=launch) for _ in range(LAUNCHES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(created) == 1
    assert len(returned) == LAUNCHES and all(handle is created[0][1] for handle in returned)


def test_each_node_has_an_agent_of_its_own() -> None:
    agents = NodeAgents(create=lambda node_id, address: f"agent on {node_id} at {address}")
    assert [agents.of(n, address=f"10.0.0.{n}") for n in ("a", "b", "a")] == [
        "agent on a at 10.0.0.a",
        "agent on b at 10.0.0.b",
        "agent on a at 10.0.0.a",
    ]
