"""The few host-side operations around the CNI plugins: network namespaces, listing and removing links,
nftables tables, and a machine-wide lock for choosing subnets.

Bridges and veths are made by the CNI bridge plugin; this module only looks at them, and removes a
bridge once its last VM is gone (CNI DEL leaves the bridge in place by design).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

NETNS_DIR = Path("/run/netns")
SYSFS_NET = Path("/sys/class/net")
PROC_ROUTES = Path("/proc/net/route")
TOOL_TIMEOUT_SECONDS = 30.0


class HostNetError(RuntimeError):
    """An `ip` or `nft` call failed; the message carries its stderr."""


@dataclass(frozen=True, slots=True)
class Link:
    name: str
    is_bridge: bool
    master: str | None


def run(argv: list[str], *, stdin: str | None = None) -> str:
    finished = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
    )
    if finished.returncode != 0:
        raise HostNetError(f"{' '.join(argv[:4])} failed: {finished.stderr.strip()[-500:]}")
    return finished.stdout


def add_netns(name: str) -> Path:
    run(["ip", "netns", "add", name])
    return NETNS_DIR / name


def delete_netns(name: str) -> None:
    """Deleting the namespace also destroys the VM end of its veth, and so the host end too."""
    if (NETNS_DIR / name).exists():
        run(["ip", "netns", "delete", name])


def list_netns() -> list[str]:
    return sorted(path.name for path in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else []


def list_links() -> list[Link]:
    """Read from sysfs rather than `ip`: attach and detach look often, and a fork costs more than this."""
    return [_link(path) for path in sorted(SYSFS_NET.iterdir())] if SYSFS_NET.is_dir() else []


def _link(path: Path) -> Link:
    master = path / "master"
    return Link(
        name=path.name,
        is_bridge=(path / "bridge").is_dir(),
        master=master.resolve().name if master.exists() else None,
    )


def delete_link(name: str) -> None:
    with contextlib.suppress(HostNetError):  # gone already: what we wanted
        run(["ip", "link", "delete", name])


def host_networks() -> list[IPv4Network]:
    """Every IPv4 network the host routes to (each address brings its connected route): a job's subnet
    must avoid them all. Read from procfs, as `ip route` would, without a fork."""
    rows = PROC_ROUTES.read_text().splitlines()[1:] if PROC_ROUTES.exists() else []
    networks = []
    for row in rows:
        fields = row.split()
        destination, mask = _hex_address(fields[1]), _hex_address(fields[7])
        if mask:  # the default route (mask 0) is no network of the host's
            networks.append(IPv4Network((destination, bin(mask).count("1")), strict=False))
    return networks


def _hex_address(text: str) -> int:
    """procfs prints IPv4 addresses as host-order (little-endian) hex."""
    return int.from_bytes(int(text, 16).to_bytes(4, "little"), "big")


def apply_ruleset(text: str) -> None:
    run(["nft", "-f", "-"], stdin=text)


def delete_table(name: str) -> None:
    with contextlib.suppress(HostNetError):
        run(["nft", "delete", "table", "inet", name])


def list_tables() -> list[str]:
    listed = json.loads(run(["nft", "-j", "list", "tables", "inet"]) or "{}")
    return [item["table"]["name"] for item in listed.get("nftables", []) if "table" in item]


@contextlib.contextmanager
def machine_lock(path: Path) -> Iterator[None]:
    """Held while a subnet is chosen and its bridge comes up, so two servers never pick the same one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
