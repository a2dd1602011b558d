"""The agent actor of each node, created once per node and server however many VMs go there at once.

Ray's `get_if_exists` is no atomic get-or-create: two drivers' threads that both find no actor both
create one, and the loser's handle fails with `ActorAlreadyExistsError` at its first call (a drain of 20
jobs across two fresh nodes lost 5 jobs that way). So this server creates an agent under a lock, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# (node id, the node's address) → a handle to a new (or the existing) agent on that node
AgentFactory = Callable[[str, str], Any]


class NodeAgents:
    """Each node's agent handle, created on first use; thread-safe."""

    def __init__(self, *, create: AgentFactory) -> None:
        self._create = create
        self._agents: dict[str, Any] = {}
        # Held across the creation: creating a handle is quick (Ray schedules the actor in the background),
        # and a node gets its agent once, so launches on other nodes wait on it only that once.
        self._lock = threading.Lock()

    def of(self, node_id: str, *, address: str) -> Any:
        """The node's agent, created the first time a VM goes there (`address` is the node's)."""
        with self._lock:
            agent = self._agents.get(node_id)
            if agent is None:
                agent = self._agents[node_id] = self._create(node_id, address)
            return agent
