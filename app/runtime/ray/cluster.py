"""The connection to a Ray cluster, and its nodes as the host pool, kept in sync as nodes join and leave.

sagelite connects as a Ray driver (`ray://head:10001` through the Ray Client server, the way a service
outside the cluster does, or the GCS address from a machine of the cluster). Everything it creates lives
in a namespace of its own, one per data directory (as the OCI executor's cgroups are), so a restarted
server finds what the previous process left there and nothing of anyone else's.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from app.config import Settings
from app.hosts.pool import HostSpec
from app.runtime.oci.executor import server_key
from app.runtime.ray import nodes
from app.runtime.ray.nodes import NodeHost, Overcommit

logger = logging.getLogger(__name__)

_CONNECT_ATTEMPTS = 3
HostsSink = Callable[[list[HostSpec]], None]


class RayCluster:
    """This server's view of the cluster: which node each host is, refreshed from `ray.nodes()`."""

    def __init__(self, *, namespace: str, overcommit: Overcommit, sync_seconds: float) -> None:
        self.namespace = namespace
        self._overcommit = overcommit
        self._sync_seconds = sync_seconds
        self._nodes: dict[str, NodeHost] = {}  # by host name
        self._lost: set[str] = set()  # node ids whose agents died: no host, whatever Ray says yet
        self._lock = threading.Lock()
        self._sink: HostsSink | None = None
        self._pushing = threading.Lock()  # one read-and-push of the pool at a time: no stale one last
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def connect(cls, settings: Settings) -> RayCluster:
        """Join the cluster at `settings.ray_address` as a driver in this server's namespace."""
        import ray

        key = server_key(settings.data_dir)
        namespace = f"sagelite-{key}"
        server_sigterm = signal.getsignal(signal.SIGTERM)
        for attempt in range(_CONNECT_ATTEMPTS):
            try:
                ray.init(
                    address=settings.ray_address,
                    namespace=namespace,
                    log_to_driver=False,  # a VM's output reaches its log stream, not the server's own log
                    logging_level=logging.WARNING,
                )
                break
            except ConnectionError:
                # The Ray Client server starts a server per driver, which now and again fails to start.
                if attempt + 1 == _CONNECT_ATTEMPTS:
                    raise
                logger.warning("connecting to the Ray cluster failed; trying again")
        if threading.current_thread() is threading.main_thread():
            # A Ray driver's SIGTERM handler exits on the spot; the server's own shuts down in order (its
            # runs stopped, the agents ended), which is what leaves no VM on any node.
            signal.signal(signal.SIGTERM, server_sigterm)
        overcommit = Overcommit(
            cpu=settings.cpu_overcommit, memory=settings.memory_overcommit, disk=settings.disk_overcommit
        )
        return cls(namespace=namespace, overcommit=overcommit, sync_seconds=settings.ray_sync_seconds)

    @property
    def server_key(self) -> str:
        return self.namespace.removeprefix("sagelite-")

    def hosts(self) -> list[HostSpec]:
        """The cluster's nodes as hosts, as they are now."""
        import ray

        listed: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
        found: list[NodeHost] = nodes.hosts_of(listed, overcommit=self._overcommit)
        with self._lock:
            found = [node for node in found if node.node_id not in self._lost]
            self._nodes = {node.host.name: node for node in found}
        return [node.host for node in found]

    def node_of(self, host: str) -> str | None:
        """The id of the node a host is, while it is part of the cluster."""
        with self._lock:
            node = self._nodes.get(host)
        return None if node is None else node.node_id

    def address_of(self, host: str) -> str | None:
        """The IP address of the node a host is, while it is part of the cluster."""
        with self._lock:
            node = self._nodes.get(host)
        return None if node is None else node.address

    def lost(self, host: str) -> None:
        """The host's node is gone (its agent died with it): out of the pool now, before Ray's own view
        of the cluster (a few seconds behind) says so. A node that comes back has a new id."""
        with self._lock:
            node = self._nodes.get(host)
            if node is not None:
                self._lost.add(node.node_id)
        if node is not None and self._sink is not None:
            self._push(self._sink)

    def start_sync(self, sink: HostsSink) -> None:
        """Hand the pool to `sink` every `ray_sync_seconds` from a thread of its own."""
        self._sink = sink
        self._thread = threading.Thread(target=self._sync, args=(sink,), name="ray-hosts", daemon=True)
        self._thread.start()

    def close(self) -> None:
        import ray

        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for agent in named_actors(self.namespace):  # idle once every run has ended; a VM left dies with it
            ray.kill(agent, no_restart=True)
        ray.shutdown()

    def _sync(self, sink: HostsSink) -> None:
        known: list[HostSpec] | None = None
        while not self._closed.wait(self._sync_seconds):
            try:
                hosts = self._push(sink)
                if hosts != known:
                    logger.info("ray hosts", extra={"hosts": [h.name for h in hosts]})
                    known = hosts
            except Exception:
                logger.exception("reading the Ray cluster's nodes failed")

    def _push(self, sink: HostsSink) -> list[HostSpec]:
        with self._pushing:
            hosts = self.hosts()
            sink(hosts)  # every time: a vanished host's row goes once its last VM has ended
            return hosts


def named_actors(namespace: str) -> list[Any]:
    """Every named actor of the namespace (the agents of this server's previous processes too)."""
    import ray

    found = []
    for entry in ray.util.list_named_actors(all_namespaces=True):
        if entry["namespace"] == namespace:
            try:
                found.append(ray.get_actor(entry["name"], namespace=namespace))
            except ValueError:
                continue  # ended meanwhile
    return found
