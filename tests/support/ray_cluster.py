"""A Ray cluster on this machine for tests: a head and worker nodes on loopback, every port a free one.

Each node is `ray start --block` in a process group of its own, so that killing a node kills its raylet,
its agents and its workers together (what a machine that dies does), and nothing else. The head has no
CPUs: it is no host, only the cluster's control plane (and the Ray Client server the sagelite server
connects through, as a server outside the cluster does).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import worker_netns
from tests.support.polling import wait_until
from tests.support.worker_netns import WorkerNetwork

RAY = Path(sys.executable).parent / "ray"
# Every node on an address of its own, all on loopback (127/8): Ray turns 127.0.0.1 itself into the
# machine's external address, which a test must never use.
HEAD = "127.0.0.2"
_STARTED = "Ray runtime started."
_START_ATTEMPTS = 3
_WORKER_PORTS = 16  # a node's worker processes: its agent, Ray's own, and the Ray Client's drivers
# Node death is noticed within a few seconds instead of Ray's default of about half a minute.
_SYSTEM_CONFIG = {"health_check_period_ms": 1000, "health_check_failure_threshold": 3}


@dataclass
class Node:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    scratch: Path
    address: str = ""

    def kill(self) -> None:
        """Kill the node's whole process group at once, as when its machine dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@dataclass
class RayCluster:
    gcs_address: str
    client_address: str  # ray://… : how a driver outside the cluster connects
    root: Path
    nodes: list[Node] = field(default_factory=list)

    def worker(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)


def free_ports(count: int) -> list[int]:
    """Distinct free ports: every socket is held until all are found, so none is handed out twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _port_options(ports: Iterator[int], *names: str) -> list[str]:
    options = []
    for name in names:
        options += [f"--{name}", str(next(ports))]
    return options


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a node runs: its address, and the prefix that puts its processes there (nothing: here)."""

    address: str
    prefix: tuple[str, ...] = ()


def _start(root: Path, name: str, place: _Place, arguments: list[str], env: dict[str, str]) -> Node:
    log = root / f"{name}.log"  # the last attempt's
    scratch = root / name
    scratch.mkdir(parents=True, exist_ok=True)
    ports = iter(free_ports(8 + _WORKER_PORTS))
    address = place.address
    command = [
        *place.prefix,
        str(RAY),
        "start",
        "--block",
        "--node-ip-address",
        address,
        "--disable-usage-stats",
        "--include-log-monitor",
        "false",
        "--object-store-memory",
        str(80 * 1024**2),
        "--worker-port-list",
        ",".join(str(next(ports)) for _ in range(_WORKER_PORTS)),
        *_port_options(
            ports,
            "node-manager-port",
            "object-manager-port",
            "metrics-export-port",
            "dashboard-agent-listen-port",
            "dashboard-agent-grpc-port",
            "runtime-env-agent-port",
            "dashboard-port",
        ),
        *arguments,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env, "TMPDIR": str(scratch)},
            start_new_session=True,
        )
    return Node(name=name, process=process, log=log, scratch=scratch, address=address)


@contextmanager
def ray_cluster(
    root: Path,
    *,
    workers: dict[str, dict[str, float]],
    network: WorkerNetwork | None = None,
    hidden: Path | None = None,
) -> Iterator[RayCluster]:
    """A head and one worker per entry of `workers` (name → {"cpus", "memory_gib"}); stopped on exit.

    With `network`, the head listens on its host-side address and each worker runs in its own network
    namespace (`network.worker(name)`) and a mount namespace where `hidden` is an empty directory;
    otherwise every node is on a loopback address of its own."""
    root.mkdir(parents=True, exist_ok=True)
    port, client_port = free_ports(2)
    places = _places(workers, network=network, hidden=hidden)
    head_place = places.pop("head")
    env = {
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "RAY_USAGE_STATS_ENABLED": "0",
        # The Ray Client server forks a server per driver while gRPC's threads run; gRPC's fork handlers
        # then crash it now and again ("Check failed: next_worker->state == KICKED").
        "GRPC_ENABLE_FORK_SUPPORT": "0",
    }
    cluster = RayCluster(
        gcs_address=f"{head_place.address}:{port}",
        client_address=f"ray://{head_place.address}:{client_port}",
        root=root,
    )
    try:
        head = [
            "--head",
            "--port",
            str(port),
            "--ray-client-server-port",
            str(client_port),
            "--include-dashboard",
            "false",
            "--num-cpus",
            "0",
            "--temp-dir",
            str(root / "ray"),
            "--system-config",
            json.dumps(_SYSTEM_CONFIG),
        ]
        cluster.nodes.append(_started(root, "head", head_place, head, env))
        for name, shape in workers.items():
            arguments = [
                "--address",
                cluster.gcs_address,
                "--num-cpus",
                str(int(shape["cpus"])),
                "--memory",
                str(int(shape["memory_gib"] * 1024**3)),
                "--resources",
                json.dumps({f"node:{name}": 1}),
            ]
            cluster.nodes.append(_started(root, name, places[name], arguments, env))
        yield cluster
    finally:
        for node in reversed(cluster.nodes):
            stop_node(node)


def _places(
    workers: dict[str, dict[str, float]], *, network: WorkerNetwork | None, hidden: Path | None
) -> dict[str, _Place]:
    if network is None:
        addresses = iter(f"127.0.0.{index}" for index in range(2, 255))
        return {"head": _Place(HEAD), **{name: _Place(next(addresses)) for name in workers}}
    assert hidden is not None, "workers in namespaces of their own hide the server's data directory"
    places = {"head": _Place(network.host_address)}
    for name in workers:
        worker = network.worker(name)
        places[name] = _Place(worker.address, tuple(worker_netns.inside(worker, hidden=hidden)))
    return places


def _started(root: Path, name: str, place: _Place, arguments: list[str], env: dict[str, str]) -> Node:
    """A node that has come up; on a busy machine a node may miss Ray's own start-up deadline (30 s for
    its raylet to register), so it is given a few attempts."""
    for attempt in range(1, _START_ATTEMPTS + 1):
        node = _start(root, name, place, arguments, env)

        def up(node: Node = node) -> bool:
            return node.process.poll() is not None or _STARTED in node.log.read_text()

        wait_until(up, what=f"Ray node {name} to start", timeout=240)
        if node.process.poll() is None:
            return node
        stop_node(node)
        if attempt == _START_ATTEMPTS:
            raise RuntimeError(f"Ray node {name} did not start:\n{node.log.read_text()[-3000:]}")
    raise AssertionError("unreachable")


def stop_node(node: Node) -> None:
    """SIGTERM (ray start --block stops its processes), then SIGKILL whatever of the group is left."""
    if node.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            node.process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        node.process.wait(timeout=10)
