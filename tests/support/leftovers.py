"""What a real server left of its job networks on this machine, and removing it.

A server stopped gracefully detaches every job network on its way out; anything of its networks that
remains afterwards is a leak, which `running_server` turns into a test failure (after sweeping it, so
that one leak does not take the next tests' subnets).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from app.config import Settings
from app.runtime.oci import host_net, net_plan
from app.runtime.oci.network import JobNetwork
from app.runtime.oci.volume import Volumes


def network_objects(data_dir: Path) -> list[str]:
    """The job network namespaces, bridges, veths and nftables tables on this machine of the server with
    this data directory."""
    if not _networks_possible():
        return []
    owner = net_plan.owner_tag(str(_state_dir(data_dir)))
    links = host_net.list_links()
    names = [*host_net.list_netns(), *(link.name for link in links), *host_net.list_tables()]
    mine = [name for name in names if (parsed := net_plan.parse_name(name)) and parsed[0] == owner]
    return mine + [link.name for link in links if link.master and link.master.startswith(f"sl-{owner}-")]


def sweep_networks(data_dir: Path) -> list[str]:
    """Removes what the (stopped) server with this data directory left of its job networks; returns
    what there was."""
    found = network_objects(data_dir)
    if found:
        defaults = Settings()
        JobNetwork(
            state_dir=_state_dir(data_dir),
            pool=defaults.vm_network_pool,
            egress=defaults.vm_egress,
            plugin_dir=defaults.cni_plugin_dir,
            relay_to=None,
        ).sweep()
    return found


def _state_dir(data_dir: Path) -> Path:
    return (data_dir / "network").resolve()  # as JobNetwork.from_settings names it


def _networks_possible() -> bool:
    return os.geteuid() == 0 and shutil.which("nft") is not None and shutil.which("ip") is not None


def sweep_volumes(data_dir: Path) -> list[str]:
    """Unmounts and deletes what the (stopped) server with this data directory left of its VMs' volumes;
    returns the volumes there were. A graceful shutdown whose runs outlive its join can leave one
    mounted (seen once per full run; the cause is not found yet), and its loop device with it."""
    if os.geteuid() != 0:
        return []
    root = data_dir.resolve()  # as the OCI executor names them
    return Volumes(root / "volumes").sweep(mounts_under=root / "vms")
