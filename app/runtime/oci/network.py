"""A private network per job: one bridge, one network namespace and veth per VM, one nftables table.

The bridge, veths and addresses are made by the standard CNI plugins (`bridge` with `host-local` IPAM,
and `loopback`), called as the CNI specification says; this module chooses the names and the subnet,
fences the network (net_policy), runs the gateway relay to the server, and removes it all again.

The OCI executor hands `VmNet.netns_path` to runc as the VM's network namespace and writes
`VmNet.hosts_file_text` to the VM's /etc/hosts; `gateway_url(job_key)` is the server's endpoint as that
job's VMs reach it (AWS_ENDPOINT_URL, the credentials endpoint).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.config import Settings
from app.runtime.oci import cni, host_net, net_plan, net_policy
from app.runtime.oci.gateway_relay import GatewayRelay

logger = logging.getLogger(__name__)

DEFAULT_LOCK_PATH = Path("/run/lock/sagelite-vm-network.lock")
# Plugin calls of one job run side by side (each mostly waits on the kernel); more would only queue.
MAX_PARALLEL_CALLS = 16
# Pauses after an unplug that left something, before trying again (the last one only precedes the log).
_UNPLUG_RETRY_PAUSES = (0.1, 0.5, 0.0)


def unavailable(settings: Settings) -> str | None:
    """Why job networks cannot be made on this machine (None when they can)."""
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not (settings.cni_plugin_dir / "bridge").is_file():
        return f"the CNI plugins are not installed in {settings.cni_plugin_dir}"
    return None


@dataclass(frozen=True, slots=True)
class VmNet:
    """One VM's place on its job's network. `netns_path` is a string, as the OCI runtime spec takes it."""

    netns_path: str
    ip: str
    hosts_file_text: str


@dataclass(frozen=True, slots=True)
class _Job:
    slot: int
    subnet: IPv4Network
    netns: tuple[str, ...]
    gateway_url: str | None


class JobNetwork:
    """Attaches and detaches job networks on this machine; safe to call from several threads."""

    def __init__(
        self,
        *,
        state_dir: Path,
        pool: IPv4Network,
        egress: net_plan.Egress,
        plugin_dir: Path,
        relay_to: str | None,
        lock_path: Path = DEFAULT_LOCK_PATH,
    ) -> None:
        """`relay_to` is the server's own URL (scheme://host:port); None runs no gateway relay."""
        if pool.prefixlen > net_plan.JOB_PREFIX_LENGTH:
            raise ValueError(f"the VM network pool {pool} is smaller than one job's /24")
        self._state_dir = state_dir.resolve()
        self._owner = net_plan.owner_tag(str(self._state_dir))
        self._pool, self._egress, self._plugin_dir, self._lock_path = pool, egress, plugin_dir, lock_path
        self._relay_to = urlsplit(relay_to) if relay_to else None
        self._relay = (
            GatewayRelay(target=(self._relay_to.hostname or "", self._relay_to.port or 80))
            if self._relay_to
            else None
        )
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, server_url: str | None = None) -> JobNetwork:
        """`server_url` is where the server really listens, when that is not settings.local_url (a
        server started on port 0 knows its port only once bound)."""
        return cls(
            state_dir=settings.data_dir / "network",
            pool=settings.vm_network_pool,
            egress=settings.vm_egress,
            plugin_dir=settings.cni_plugin_dir,
            relay_to=server_url or settings.local_url,
        )

    @property
    def _ipam_dir(self) -> Path:
        return self._state_dir / "ipam"

    def attach(self, *, job_key: str, hostnames: Sequence[str], isolated: bool) -> dict[str, VmNet]:
        """Creates the job's network and one namespace per host name; returns each VM's part of it."""
        if not hostnames:
            raise ValueError("a job network needs at least one host")
        # The whole attach holds the machine lock: a slot is taken from the moment its bridge exists,
        # and a sweep (which takes the lock too) never sees a network half made.
        with host_net.machine_lock(self._lock_path):
            with self._lock:
                if job_key in self._jobs:
                    raise ValueError(f"job {job_key!r} already has a network")
            slot = self._free_slot()
            subnet = net_plan.subnet_of(pool=self._pool, slot=slot)
            names = tuple(
                net_plan.netns_name(owner=self._owner, slot=slot, index=i) for i in range(len(hostnames))
            )
            try:
                addresses, gateway_url = self._plug(
                    job_key=job_key, slot=slot, subnet=subnet, names=names, isolated=isolated
                )
            except BaseException:
                if self._relay is not None:
                    self._relay.close(job_key)
                self._unplug(slot=slot, names=names)
                raise
            with self._lock:
                self._jobs[job_key] = _Job(slot=slot, subnet=subnet, netns=names, gateway_url=gateway_url)
        hosts = net_plan.hosts_text(dict(zip(hostnames, addresses, strict=True)))
        logger.info("network attached", extra={"job": job_key, "subnet": str(subnet), "isolated": isolated})
        return {
            hostname: VmNet(netns_path=str(host_net.NETNS_DIR / name), ip=str(address), hosts_file_text=hosts)
            for hostname, name, address in zip(hostnames, names, addresses, strict=True)
        }

    def detach(self, job_key: str) -> None:
        """Removes the job's relay, namespaces, veths, bridge, rules and address records; idempotent."""
        with self._lock:
            job = self._jobs.pop(job_key, None)
        if job is None:
            return
        if self._relay is not None:
            self._relay.close(job_key)
        self._unplug(slot=job.slot, names=job.netns)
        logger.info("network detached", extra={"job": job_key, "subnet": str(job.subnet)})

    @property
    def server_url(self) -> str | None:
        """The server's URL on every non-isolated job network (its alias, forwarded to the job's relay);
        None without a relay."""
        return net_plan.server_alias_url(self._relay_to.scheme) if self._relay_to else None

    def gateway_url(self, job_key: str) -> str | None:
        """The server's URL as the job's VMs reach it; None for an isolated job (or without a relay)."""
        with self._lock:
            job = self._jobs.get(job_key)
        if job is None:
            raise KeyError(f"job {job_key!r} has no network")
        return job.gateway_url

    def sweep(self) -> None:
        """Removes every namespace, bridge, veth, table and address record of this server's networks
        that no attached job owns: what a crash left behind."""
        with host_net.machine_lock(self._lock_path):
            with self._lock:
                live = {job.slot for job in self._jobs.values()}
            for slot in sorted(self._slots_found() - live):
                self._unplug(slot=slot, names=self._leftover_netns(slot))
                logger.info("network swept", extra={"slot": slot})

    def _slots_found(self) -> set[int]:
        return {slot for slot, _ in self._objects()}

    def _objects(self) -> list[tuple[int, str]]:
        """(slot, name) of every kernel object and address record of this server's networks."""
        return [
            (parsed[1], name)
            for name in [
                *host_net.list_netns(),
                *(link.name for link in host_net.list_links()),
                *host_net.list_tables(),
                *(path.name for path in self._ipam_dir.glob("*")),
            ]
            if (parsed := net_plan.parse_name(name)) is not None and parsed[0] == self._owner
        ]

    def close(self) -> None:
        """Detaches every job still attached and stops the relay thread."""
        with self._lock:
            attached = list(self._jobs)
        for job_key in attached:
            self.detach(job_key)
        if self._relay is not None:
            self._relay.shutdown()

    def _free_slot(self) -> int:
        """Free: no bridge of any server holds it, and nothing of ours is left in it (from a crash in
        the middle of a detach, before a sweep)."""
        taken = {
            parsed[1]
            for link in host_net.list_links()
            if link.is_bridge and (parsed := net_plan.parse_name(link.name)) is not None
        }
        taken |= {
            parsed[1]
            for name in [*host_net.list_netns(), *(path.name for path in self._ipam_dir.glob("*"))]
            if (parsed := net_plan.parse_name(name)) is not None and parsed[0] == self._owner
        }
        return net_plan.pick_slot(pool=self._pool, taken=taken, in_use=host_net.host_networks())

    def _plug(
        self, *, job_key: str, slot: int, subnet: IPv4Network, names: Sequence[str], isolated: bool
    ) -> tuple[list[IPv4Address], str | None]:
        """The first VM brings the bridge up (the plugin creates it and gives it the gateway address);
        then the other VMs join it and the fence goes up side by side, each in a thread of its own.
        Returns the VMs' addresses and the gateway URL."""
        first = self._plug_vm(slot=slot, subnet=subnet, index=0, name=names[0], isolated=isolated)
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL_CALLS) as pool:
            fence = pool.submit(self._fence, job_key=job_key, slot=slot, subnet=subnet, isolated=isolated)
            others = [
                pool.submit(
                    self._plug_vm, slot=slot, subnet=subnet, index=index, name=names[index], isolated=isolated
                )
                for index in range(1, len(names))
            ]
            return [first, *(other.result() for other in others)], fence.result()

    def _plug_vm(
        self, *, slot: int, subnet: IPv4Network, index: int, name: str, isolated: bool
    ) -> IPv4Address:
        address = net_plan.vm_address(subnet=subnet, index=index)
        netns_path = host_net.add_netns(name)
        loopback = cni.Attachment(container_id=name, netns_path=netns_path, ifname="lo")
        cni.call(
            plugin_dir=self._plugin_dir, command="ADD", attachment=loopback, config=net_plan.loopback_config()
        )
        result = cni.call(
            plugin_dir=self._plugin_dir,
            command="ADD",
            attachment=cni.Attachment(container_id=name, netns_path=netns_path, ifname=net_plan.IFNAME),
            config=self._bridge_config(slot=slot, address=address, isolated=isolated),
        )
        return _assigned(result, expected=address)

    def _fence(self, *, job_key: str, slot: int, subnet: IPv4Network, isolated: bool) -> str | None:
        """Opens the job's relay (unless isolated) and applies its rules; returns the gateway URL."""
        relay: tuple[IPv4Address, int] | None = None
        if self._relay is not None and self._relay_to is not None and not isolated:
            gateway = net_plan.gateway_of(subnet)
            relay = (gateway, self._relay.open(key=job_key, address=str(gateway)))
        try:
            host_net.apply_ruleset(
                net_policy.job_ruleset(
                    table=net_plan.table_name(owner=self._owner, slot=slot),
                    bridge=net_plan.bridge_name(owner=self._owner, slot=slot),
                    subnet=subnet,
                    relay=relay,
                    isolated=isolated,
                    egress=self._egress,
                    alias_port=net_plan.alias_port(self._relay_to.scheme) if self._relay_to else None,
                )
            )
        except BaseException:
            if self._relay is not None:
                self._relay.close(job_key)
            raise
        if relay is None or self._relay_to is None:
            return None
        return f"{self._relay_to.scheme}://{relay[0]}:{relay[1]}"

    def _unplug(self, *, slot: int, names: Sequence[str]) -> None:
        """Best effort: every step runs even if another failed, and what is still there afterwards gets
        another try or two (a busy kernel or a concurrent nft transaction of another server can refuse a
        deletion for a moment). What even that leaves is logged; the next sweep retries it."""
        remaining = list(names)
        for attempt, pause in enumerate(_UNPLUG_RETRY_PAUSES):
            self._unplug_once(slot=slot, names=[name for name in names if name in remaining])
            remaining = [name for found, name in self._objects() if found == slot]
            if not remaining:
                return
            logger.info("network detach retried", extra={"slot": slot, "attempt": attempt + 1})
            time.sleep(pause)
        logger.warning("network detach left objects behind", extra={"slot": slot, "objects": remaining})

    def _unplug_once(self, *, slot: int, names: Sequence[str]) -> None:
        """Each deletion waits for the kernel to retire a device or a rule set, so the VMs and the rules
        go together. The bridge goes last: while it exists its slot stays taken, so no new job can reuse
        names this one is still removing."""
        table = net_plan.table_name(owner=self._owner, slot=slot)
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL_CALLS) as pool:
            steps = [pool.submit(self._unplug_vm, slot=slot, name=name) for name in names]
            steps.append(pool.submit(host_net.delete_table, table))
            for step in steps:
                step.result()
        bridge = net_plan.bridge_name(owner=self._owner, slot=slot)
        shutil.rmtree(self._ipam_dir / bridge, ignore_errors=True)
        for link in host_net.list_links():
            if link.master == bridge:  # a veth whose namespace vanished without CNI DEL
                host_net.delete_link(link.name)
        host_net.delete_link(bridge)

    def _unplug_vm(self, *, slot: int, name: str) -> None:
        attachment = cni.Attachment(
            container_id=name, netns_path=host_net.NETNS_DIR / name, ifname=net_plan.IFNAME
        )
        config = self._bridge_config(slot=slot, address=None, isolated=False)
        try:
            cni.call(plugin_dir=self._plugin_dir, command="DEL", attachment=attachment, config=config)
        except (cni.CniError, OSError) as error:  # the namespace still goes: that takes the veth with it
            logger.warning("CNI DEL failed", extra={"netns": name, "error": str(error)})
        try:
            host_net.delete_netns(name)
        except host_net.HostNetError as error:
            logger.warning("netns delete failed", extra={"netns": name, "error": str(error)})

    def _leftover_netns(self, slot: int) -> list[str]:
        return [
            name
            for name in host_net.list_netns()
            if name.startswith(net_plan.bridge_name(owner=self._owner, slot=slot) + "-")
        ]

    def _bridge_config(self, *, slot: int, address: IPv4Address | None, isolated: bool) -> dict[str, Any]:
        return net_plan.bridge_config(
            bridge=net_plan.bridge_name(owner=self._owner, slot=slot),
            subnet=net_plan.subnet_of(pool=self._pool, slot=slot),
            address=address,
            ipam_dir=str(self._ipam_dir),
            isolated=isolated,
            egress=self._egress,
        )


def _assigned(result: dict[str, object], *, expected: IPv4Address) -> IPv4Address:
    """The address host-local gave; it is the one we asked for, or the plugin broke its contract."""
    ips = result.get("ips")
    assigned = IPv4Address(str(ips[0]["address"]).split("/")[0]) if isinstance(ips, list) and ips else None
    if assigned != expected:
        raise cni.CniError(f"host-local assigned {assigned}, not the requested {expected}")
    return assigned
