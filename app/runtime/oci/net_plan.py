"""What a job's network is made of, decided without touching the host (pure).

Every kernel object the network module makes carries a name `sl-<owner>-<slot>`: the owner tag tells
one server's objects from another's on the same machine (so one server's sweep never removes another's
networks), and the slot is the index of the job's subnet in the pool, unique on the machine.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

NAME_PREFIX = "sl-"
# Each job gets a /24: room for 253 VMs beside the gateway, more than any InstanceCount.
JOB_PREFIX_LENGTH = 24
CNI_VERSION = "1.0.0"
IFNAME = "eth0"
# The address ECS gives a task's credentials endpoint: botocore fetches container credentials over plain
# HTTP only from loopback or from it (and EKS's .23). Inside a job's network it is the server (its port 80,
# or 443 for HTTPS, forwarded to the job's gateway relay), so the same URL serves every job.
SERVER_ALIAS = IPv4Address("169.254.170.2")

_NAME = re.compile(r"^sl-(?P<owner>[0-9a-f]{4})-(?P<slot>[0-9a-f]{3,4})(?:-(?P<vm>\d+))?$")
_TABLE = re.compile(r"^sl_(?P<owner>[0-9a-f]{4})_(?P<slot>[0-9a-f]{3,4})$")

Egress = Literal["deny", "allow"]


def owner_tag(state_dir: str) -> str:
    """Four hex digits naming the server that owns a network (derived from its state folder)."""
    return hashlib.sha256(state_dir.encode()).hexdigest()[:4]


def bridge_name(*, owner: str, slot: int) -> str:
    """At most 15 characters, the kernel's limit on interface names."""
    return f"{NAME_PREFIX}{owner}-{slot:03x}"


def netns_name(*, owner: str, slot: int, index: int) -> str:
    return f"{bridge_name(owner=owner, slot=slot)}-{index}"


def table_name(*, owner: str, slot: int) -> str:
    """nftables names cannot hold a dash."""
    return f"sl_{owner}_{slot:03x}"


def parse_name(name: str) -> tuple[str, int] | None:
    """(owner, slot) of a bridge, netns or table this module made; None for anything else."""
    match = _NAME.match(name) or _TABLE.match(name)
    return (match["owner"], int(match["slot"], 16)) if match else None


def slot_count(pool: IPv4Network) -> int:
    return 1 << max(0, JOB_PREFIX_LENGTH - pool.prefixlen)


def subnet_of(*, pool: IPv4Network, slot: int) -> IPv4Network:
    if not 0 <= slot < slot_count(pool):
        raise ValueError(f"slot {slot} is outside the VM network pool {pool}")
    return IPv4Network((int(pool.network_address) + (slot << (32 - JOB_PREFIX_LENGTH)), JOB_PREFIX_LENGTH))


def pick_slot(*, pool: IPv4Network, taken: Iterable[int], in_use: Iterable[IPv4Network]) -> int:
    """The lowest slot whose subnet neither another job nor any of the host's networks holds."""
    taken_slots, networks = set(taken), list(in_use)
    for slot in range(slot_count(pool)):
        subnet = subnet_of(pool=pool, slot=slot)
        if slot not in taken_slots and not any(subnet.overlaps(network) for network in networks):
            return slot
    raise LookupError(f"every /{JOB_PREFIX_LENGTH} of the VM network pool {pool} is in use")


def alias_port(scheme: str) -> int:
    """The port the server answers on at SERVER_ALIAS: the scheme's default, so URLs need none."""
    return 443 if scheme == "https" else 80


def server_alias_url(scheme: str) -> str:
    """The server's URL as every VM on a (non-isolated) job network reaches it."""
    return f"{scheme}://{SERVER_ALIAS}"


def gateway_of(subnet: IPv4Network) -> IPv4Address:
    return subnet.network_address + 1


def vm_address(*, subnet: IPv4Network, index: int) -> IPv4Address:
    """algo-1 is .2, algo-2 is .3, ...: fixed, so a VM's address can be read off its host name."""
    return subnet.network_address + 2 + index


def hosts_text(addresses: Mapping[str, IPv4Address]) -> str:
    """An /etc/hosts that resolves localhost and every VM of the job by its host name."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{address}\t{hostname}" for hostname, address in addresses.items()]
    return "\n".join(lines) + "\n"


def bridge_config(
    *,
    bridge: str,
    subnet: IPv4Network,
    address: IPv4Address | None,
    ipam_dir: str,
    isolated: bool,
    egress: Egress,
) -> dict[str, Any]:
    """The CNI `bridge` + `host-local` configuration of one VM's interface.

    An isolated job's bridge has no address at all (the host is not on its network); otherwise the
    bridge holds the gateway, the VMs reach SERVER_ALIAS through it, and only with egress allowed do they
    get a default route through it. Masquerading is ours (nftables, see net_policy), never the plugin's.
    """
    routes = [] if isolated else [{"dst": f"{SERVER_ALIAS}/32"}]
    if egress == "allow" and not isolated:
        routes.append({"dst": "0.0.0.0/0"})
    config: dict[str, Any] = {
        "cniVersion": CNI_VERSION,
        "name": bridge,
        "type": "bridge",
        "bridge": bridge,
        "isGateway": not isolated,
        "ipMasq": False,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": str(subnet), "gateway": str(gateway_of(subnet))}]],
            "routes": routes,
            "dataDir": ipam_dir,
        },
    }
    if address is not None:
        config["args"] = {"cni": {"ips": [str(address)]}}
    return config


def loopback_config() -> dict[str, Any]:
    return {"cniVersion": CNI_VERSION, "name": "lo", "type": "loopback"}
