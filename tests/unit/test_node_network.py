"""A node's interface for its address, and a free port on it (this machine's own network, read only)."""

from __future__ import annotations

import socket

from app.runtime import rendezvous
from app.runtime.ray import node_network


def test_the_loopback_address_is_on_the_loopback_interface() -> None:
    assert node_network.interface_of("127.0.0.1") == "lo"


def test_an_address_of_no_interface_has_none() -> None:
    assert node_network.interface_of("192.0.2.77") is None  # TEST-NET-1: never assigned


def test_a_free_port_can_be_bound() -> None:
    port = node_network.free_port("127.0.0.1")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))


def test_vms_on_nodes_meet_at_the_masters_node_and_leave_the_interface_to_each_node() -> None:
    meeting = rendezvous.on_nodes("10.0.0.7", 40001)
    assert meeting.environment() == {"MASTER_ADDR": "10.0.0.7", "MASTER_PORT": "40001"}
