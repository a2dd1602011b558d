"""A node's own network as its agent sees it: the interface that carries the node's address (collectives
must bind it, not the loopback a host name may resolve to) and a port free on that address."""

from __future__ import annotations

import fcntl
import socket
import struct

_SIOCGIFADDR = 0x8915  # <linux/sockios.h>: an interface's IPv4 address
_IFNAMSIZ = 16


def interface_of(address: str) -> str | None:
    """The name of this machine's interface whose IPv4 address is `address` (None: no such interface)."""
    for _, name in socket.if_nameindex():
        if _address_of(name) == address:
            return name
    return None


def _address_of(interface: str) -> str | None:
    request = struct.pack("256s", interface.encode()[: _IFNAMSIZ - 1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
        except OSError:
            return None  # down, or no IPv4 address
    return socket.inet_ntoa(answer[20:24])  # struct ifreq: the name, then a sockaddr_in


def free_port(address: str) -> int:
    """A TCP port the kernel just found free on `address`."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
    return port
