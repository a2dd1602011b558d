"""`RayExecutor`: the Executor whose VMs run on the nodes of a Ray cluster (`sagelite serve --ray-address`).

sagelite's scheduler still places every VM on a host; a host is a node (`cluster`), and the VM is started
there by the node's agent actor (`node_agent`), pinned to it with hard node affinity, named and in this
server's namespace so that a restarted server finds it. The server keeps what it keeps for a local VM —
the VM's folder with its contract and, after the run, its results; its log under the job's streams — and
a thread per VM fills them: it pulls the log as it grows and, once the VM has ended, takes its model, output
and checkpoints, which the node uploaded through this server's S3 API as the job (`node_files`). The
handle `launch` returns is no process id of this machine: it only names the VM here.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.runtime import contract, failures, rendezvous
from app.runtime.executor import LaunchSpec, PlainFolders
from app.runtime.ray import cluster as clusters
from app.runtime.ray import node_files
from app.runtime.ray.agents import NodeAgents
from app.runtime.ray.cluster import RayCluster
from app.runtime.ray.node_agent import HOST_LOST_EXIT, NodeAgent, NodeLaunch
from app.runtime.rendezvous import Rendezvous

logger = logging.getLogger(__name__)

FIRST_HANDLE = 1 << 23  # above the kernel's largest pid_max (2**22): never a process of this machine
_POLL_SECONDS = 0.2  # before asking a slow or reconnecting node again
_LONG_POLL_SECONDS = 1.0  # how long the agent holds a poll of a quiet VM (see `NodeAgent.poll`)
_CALL_TIMEOUT_SECONDS = 60.0
# Calls one agent answers at once: a held poll of every VM on the node, and their starts and stops.
_AGENT_CONCURRENCY = 256


@dataclass
class _RemoteVm:
    spec: LaunchSpec
    agent: Any
    started: Any = None  # the agent's answer to `start`: calls about the VM wait for it (see `_known`)
    exit_code: int | None = None


class RayExecutor(PlainFolders):
    """Runs each VM on the Ray node its host is; the server's folder keeps only what it reads.

    A job's VMs meet for collective training at the address of the node algo-1 runs on, on a port that
    node's agent found free; each node binds collectives to its own interface for that address."""

    isolation = "ray"
    # The VM's disk is on its node; the folder here holds its few start-up files and, at the end, its
    # results. A node's process isolation does not hold a VM to its volume size.
    enforces_volumes = False
    remote = True

    def __init__(self, *, cluster: RayCluster, grace_seconds: float) -> None:
        self._cluster = cluster
        self._grace = grace_seconds
        self._vms: dict[int, _RemoteVm] = {}
        self._agents = NodeAgents(create=self._new_agent)
        self._next = FIRST_HANDLE
        self._lock = threading.Lock()

    def launch(self, spec: LaunchSpec, on_exit: Callable[[], None]) -> int:
        with self._lock:
            handle, self._next = self._next, self._next + 1
        vm = _RemoteVm(spec=spec, agent=self._agent(spec.host))
        with self._lock:
            self._vms[handle] = vm
        if vm.agent is not None:
            vm.started = vm.agent.start.remote(_node_launch(spec, grace_seconds=self._grace))
        name = f"vm-{spec.vm_id}"
        threading.Thread(target=self._follow, args=(vm, on_exit), name=name, daemon=True).start()
        return handle

    def rendezvous(self, *, hosts: Sequence[str], placed_on: Sequence[str] = ()) -> Rendezvous:
        """At algo-1's node: its address, and a port its agent found free there (SageMaker's own port
        for a single VM, which meets nobody; a node that is gone already makes its VMs fail as lost)."""
        import ray

        first = placed_on[0] if placed_on else ""
        address, agent = self._cluster.address_of(first), self._agent(first)
        if address is None or agent is None:
            return rendezvous.on_job_network(hosts)
        if len(hosts) == 1:
            return rendezvous.on_nodes(address, rendezvous.SAGEMAKER_MASTER_PORT)
        try:
            port: int = ray.get(agent.free_port.remote(), timeout=_CALL_TIMEOUT_SECONDS)
        except Exception:
            logger.warning("algo-1's Ray node found no port; meeting on SageMaker's", extra={"host": first})
            port = rendezvous.SAGEMAKER_MASTER_PORT
        return rendezvous.on_nodes(address, port)

    def signal(self, pid: int, sig: int) -> None:
        vm = self._vm(pid)
        if vm is not None and vm.agent is not None and vm.exit_code is None and _known(vm):
            vm.agent.signal.remote(vm.spec.vm_id, sig)

    def pause(self, pid: int) -> None:
        self.signal(pid, signal.SIGSTOP)

    def resume(self, pid: int) -> None:
        self.signal(pid, signal.SIGCONT)

    def exit_code(self, pid: int) -> int | None:
        vm = self._vm(pid)
        return HOST_LOST_EXIT if vm is None else vm.exit_code

    def out_of_memory(self, pid: int) -> bool:
        return False  # as under the process executor: an address-space limit shows as MemoryError

    def release(self, pid: int) -> None:
        with self._lock:
            vm = self._vms.pop(pid, None)
        if vm is not None and vm.agent is not None:
            vm.agent.discard.remote(vm.spec.vm_id)

    def reap(self, *, vm_id: str, pid: int | None) -> None:
        """Nothing one by one: `sweep` ends every agent of this server, and each kills its VMs."""

    def sweep(self) -> None:
        """At start-up: kill every VM a previous server process left on any node, and its agent."""
        import ray

        for agent in clusters.named_actors(self._cluster.namespace):
            try:
                killed = ray.get(agent.kill_all.remote(), timeout=_CALL_TIMEOUT_SECONDS)
                logger.info("killed the VMs a previous server left on a Ray node", extra={"vms": killed})
            except Exception:
                logger.warning("a Ray agent did not answer; killing it (its VMs die with it)")
            ray.kill(agent, no_restart=True)

    # -- following a VM ------------------------------------------------------------------------------

    def _follow(self, vm: _RemoteVm, on_exit: Callable[[], None]) -> None:
        from ray.exceptions import RayActorError

        try:
            vm.exit_code = self._pull(vm)
        except (RayActorError, LookupError) as error:
            logger.warning("a VM's Ray node was lost", extra={"vm": vm.spec.vm_id, "error": repr(error)})
            self._host_lost(vm.spec)
            vm.exit_code = HOST_LOST_EXIT
        except Exception as error:
            logger.exception("following a VM on its Ray node failed", extra={"vm": vm.spec.vm_id})
            _write_failure(vm.spec, f"InternalServerError: the VM's results could not be read: {error}")
            vm.exit_code = HOST_LOST_EXIT
        on_exit()

    def _host_lost(self, spec: LaunchSpec) -> None:
        """Out of the pool before the run hears of it: a job restarted under its RetryStrategy must not be
        placed on the dead node again in the seconds before the next sync would have noticed."""
        try:
            self._cluster.lost(spec.host)
        except Exception:  # the run must still hear of the loss; the next sync removes the node
            logger.exception("taking a lost node out of the pool failed", extra={"host": spec.host})
        reason = f"the Ray node {spec.host} left the cluster while {spec.hostname} ran on it"
        _write_failure(spec, failures.HOST_LOST + reason)

    def _pull(self, vm: _RemoteVm) -> int:
        """Copy the VM's log here as it grows; once it has ended, its results. Returns its exit code."""
        import ray
        from ray.exceptions import ActorUnavailableError, GetTimeoutError

        if vm.agent is None:
            raise LookupError(f"{vm.spec.host} is no node of the cluster")
        ray.get(vm.started, timeout=_CALL_TIMEOUT_SECONDS)
        offset = 0
        vm.spec.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with vm.spec.log_path.open("ab") as log:
            while True:
                try:
                    asked = vm.agent.poll.remote(vm.spec.vm_id, offset, _LONG_POLL_SECONDS)
                    progress = ray.get(asked, timeout=_CALL_TIMEOUT_SECONDS)
                except (ActorUnavailableError, GetTimeoutError):
                    time.sleep(_POLL_SECONDS)  # a node that is slow or reconnecting, not (yet) a lost one
                    continue
                log.write(progress.log)
                log.flush()
                offset += len(progress.log)
                if progress.exit_code is not None:
                    break
        # The results come through the server's S3 API as the job, unless it has no credentials.
        uri = vm.spec.results_uri if node_files.can_transfer(vm.spec.env) else ""
        results = ray.get(vm.agent.collect.remote(vm.spec.vm_id, uri), timeout=_CALL_TIMEOUT_SECONDS)
        node_files.unpack(node_files.take_results(uri=uri, env=vm.spec.env) if uri else results, vm.spec.cwd)
        code: int = progress.exit_code
        return code

    def _agent(self, host: str) -> Any:
        """The agent for this server of the node a host is, started on the node the first time a VM goes
        there; None when the host is no node of the cluster (any more)."""
        node_id, address = self._cluster.node_of(host), self._cluster.address_of(host)
        if node_id is None or address is None:
            return None
        return self._agents.of(node_id, address=address)

    def _new_agent(self, node_id: str, address: str) -> Any:
        """A handle to the node's agent for this server (`get_if_exists`: a previous process's, if left)."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return (
            ray.remote(NodeAgent)
            .options(
                name=f"agent-{node_id}",
                namespace=self._cluster.namespace,
                lifetime="detached",  # outlives a killed server, so that its next process finds it
                get_if_exists=True,
                num_cpus=0,  # sagelite accounts for the node's CPUs itself
                max_concurrency=_AGENT_CONCURRENCY,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
            )
            .remote(server_key=self._cluster.server_key, address=address)
        )

    def _vm(self, handle: int) -> _RemoteVm | None:
        with self._lock:
            return self._vms.get(handle)


def _known(vm: _RemoteVm) -> bool:
    """Wait until the agent has the VM: an agent answers calls concurrently, so a call sent after `start`
    may otherwise run before it. False when the agent is gone (its follower reports the VM lost)."""
    import ray

    try:
        ray.get(vm.started, timeout=_CALL_TIMEOUT_SECONDS)
    except Exception:
        return False
    return True


def _node_launch(spec: LaunchSpec, *, grace_seconds: float) -> NodeLaunch:
    return NodeLaunch(
        vm_id=spec.vm_id,
        bundle=node_files.pack(spec.cwd),
        fetches=tuple(spec.fetches),
        checkpoint_fetches=tuple(spec.checkpoint_fetches),
        arguments=tuple(spec.command[1:]),
        env=dict(spec.env),
        server_root=str(spec.cwd),
        memory_bytes=spec.memory_bytes,
        max_log_bytes=spec.max_log_bytes,
        deadline_at=spec.deadline_at if spec.deadline_at is not None else time.time() + 86400 * 28,
        grace_seconds=grace_seconds,
    )


def _write_failure(spec: LaunchSpec, reason: str) -> None:
    failure = contract.layout(spec.cwd).failure_file
    failure.parent.mkdir(parents=True, exist_ok=True)
    failure.write_text(reason + "\n")
