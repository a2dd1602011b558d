"""Where the VMs of one job meet for collective training (torchrun, gloo), and how each VM is told.

The executor decides (`Executor.rendezvous`), because only it knows how its VMs reach each other: on a
job network of their own, the master is `algo-1` by name on SageMaker's port; without one (the process
executor, where every VM shares the host's loopback and no `algo-N` name resolves), the master is
127.0.0.1 on a port free for this job alone, and collectives are told to use the loopback interface; on
the nodes of a Ray cluster, the master is the address of algo-1's node, on a port free there.

A VM learns it through the variables torch itself reads (`MASTER_ADDR`, `MASTER_PORT`,
`GLOO_SOCKET_IFNAME`). Pure: the training child reads them back with `from_environment`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MASTER_ADDR = "MASTER_ADDR"
MASTER_PORT = "MASTER_PORT"
SOCKET_IFNAME = "GLOO_SOCKET_IFNAME"
# The port SageMaker's training toolkit gives torchrun's master on algo-1.
SAGEMAKER_MASTER_PORT = 7777
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendezvous:
    """The master's address and port as every VM of the job reaches them, and the network interface
    collectives should bind (None: the one the host name routes to)."""

    master_addr: str
    master_port: int
    interface: str | None = None

    def environment(self) -> dict[str, str]:
        """The variables that tell a VM (and torch in it) where to meet."""
        env = {MASTER_ADDR: self.master_addr, MASTER_PORT: str(self.master_port)}
        if self.interface is not None:
            env[SOCKET_IFNAME] = self.interface
        return env


def on_job_network(hosts: Sequence[str]) -> Rendezvous:
    """VMs that resolve each other's host names: the first host is the master, as on SageMaker."""
    return Rendezvous(master_addr=hosts[0], master_port=SAGEMAKER_MASTER_PORT)


def on_nodes(master_address: str, port: int) -> Rendezvous:
    """VMs on different machines that share each machine's network (a Ray node's): the master is the
    address of the node algo-1 runs on, on a port free there. The interface is each node's own, which
    only the node knows (it sets `GLOO_SOCKET_IFNAME` itself)."""
    return Rendezvous(master_addr=master_address, master_port=port)


def on_loopback(port: int) -> Rendezvous:
    """VMs that share the host's network: loopback, on a port chosen for the job."""
    return Rendezvous(master_addr=LOOPBACK, master_port=port, interface="lo")


def from_environment(env: Mapping[str, str]) -> Rendezvous | None:
    """What `Rendezvous.environment` said, or None when the VM was told nothing (or nonsense)."""
    address, port = env.get(MASTER_ADDR), env.get(MASTER_PORT, "")
    if not address or not port.isdigit():
        return None
    return Rendezvous(master_addr=address, master_port=int(port), interface=env.get(SOCKET_IFNAME) or None)
