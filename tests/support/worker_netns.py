"""Worker machines on one machine, for the multi-host tests: a network namespace per worker on a test
bridge, and a mount namespace per worker process tree that hides the server's data directory.

The bridge holds the host-side address (where the Ray head and the sagelite server listen); each worker's
namespace has one veth end on the bridge with an address of its own and a default route via the host
side, so workers reach the head, the server and each other, and nothing else. Names carry this process's
id and the /24 is one no interface of this machine uses yet, so parallel test runs never meet.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.polling import wait_until

# Candidate /24s for the test bridge (private range, never routed off this machine).
_POOL = ipaddress.IPv4Network("10.246.0.0/16")


@dataclass(frozen=True, slots=True)
class Worker:
    name: str
    netns: str
    address: str  # the worker's own address, on the bridge


@dataclass(frozen=True, slots=True)
class WorkerNetwork:
    bridge: str
    host_address: str  # the host side: where the head and the server listen
    workers: tuple[Worker, ...]

    def worker(self, name: str) -> Worker:
        return next(worker for worker in self.workers if worker.name == name)


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True)


def _used_networks() -> list[ipaddress.IPv4Network]:
    listed = subprocess.run(["ip", "-4", "-o", "addr"], check=True, capture_output=True, text=True).stdout
    found = []
    for line in listed.splitlines():
        fields = line.split()
        found.append(ipaddress.IPv4Interface(fields[fields.index("inet") + 1]).network)
    return found


def _free_subnet() -> ipaddress.IPv4Network:
    used = _used_networks()
    start = os.getpid() % 256  # parallel runs start their search at different places
    subnets = list(_POOL.subnets(new_prefix=24))
    for subnet in subnets[start:] + subnets[:start]:
        if not any(subnet.overlaps(network) for network in used):
            return subnet
    raise RuntimeError(f"no free /24 in {_POOL} for the test network")


@contextmanager
def worker_network(names: Sequence[str]) -> Iterator[WorkerNetwork]:
    """A bridge and one network namespace per worker name; everything removed on exit, and checked."""
    tag = f"{os.getpid() % 100000}"
    subnet = _free_subnet()
    addresses = subnet.hosts()
    host_address = str(next(addresses))
    network = WorkerNetwork(
        bridge=f"srbr{tag}",
        host_address=host_address,
        workers=tuple(
            Worker(name=name, netns=f"sagelite-{name}-{tag}", address=str(next(addresses))) for name in names
        ),
    )
    try:
        _ip("link", "add", network.bridge, "type", "bridge")
        _ip("addr", "add", f"{host_address}/{subnet.prefixlen}", "dev", network.bridge)
        _ip("link", "set", network.bridge, "up")
        for index, worker in enumerate(network.workers):
            _add_worker(network, worker, veth=f"srv{tag}x{index}", prefix=subnet.prefixlen)
        yield network
    finally:
        remove(network)
    # The kernel frees a namespace (and the veth ends in it) asynchronously after its last user is gone.
    wait_until(
        lambda: not leftovers(network), what="the test network's namespaces and links to go", timeout=60
    )


def _add_worker(network: WorkerNetwork, worker: Worker, *, veth: str, prefix: int) -> None:
    _ip("netns", "add", worker.netns)
    _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", worker.netns)
    _ip("link", "set", veth, "master", network.bridge, "up")
    _ip("-n", worker.netns, "addr", "add", f"{worker.address}/{prefix}", "dev", "eth0")
    _ip("-n", worker.netns, "link", "set", "eth0", "up")
    _ip("-n", worker.netns, "link", "set", "lo", "up")
    _ip("-n", worker.netns, "route", "add", "default", "via", network.host_address)


def remove(network: WorkerNetwork) -> None:
    """Delete the namespaces (their veth ends go with them) and the bridge; what is gone already is fine."""
    for worker in network.workers:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", worker.netns)
    with contextlib.suppress(subprocess.CalledProcessError):
        _ip("link", "del", network.bridge)


def leftovers(network: WorkerNetwork) -> list[str]:
    """The namespaces and links of `network` that still exist."""
    namespaces = subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], check=True, capture_output=True, text=True).stdout
    found = [w.netns for w in network.workers if w.netns in namespaces.split()]
    tag = network.bridge.removeprefix("srbr")
    found += [
        line.split(":")[1].strip()
        for line in links.splitlines()
        if f"{tag}x" in line or network.bridge in line
    ]
    return found


def inside(worker: Worker, *, hidden: Path) -> list[str]:
    """The command prefix that runs a command as a process of `worker`: in its network namespace and in
    a mount namespace of its own where `hidden` (the server's data) is an empty tmpfs."""
    hide = 'mount -t tmpfs -o size=1m,mode=0700 sagelite-hidden "$1" && shift && exec "$@"'
    return [
        "ip",
        "netns",
        "exec",
        worker.netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        hide,
        "sh",
        str(hidden),
    ]


def processes_in(netns: str) -> list[int]:
    """The pids of processes still in a worker's network namespace."""
    listed = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    return [int(pid) for pid in listed.stdout.split()]
