"""Names, subnets, addresses, hosts text, CNI configurations and nftables rules of a job network."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from app.config import Settings
from app.runtime.oci import net_plan, net_policy
from app.runtime.oci.network import JobNetwork

POOL = IPv4Network("10.213.0.0/16")


def test_names_fit_the_kernel_limit_and_parse_back() -> None:
    owner = net_plan.owner_tag("/srv/sagelite/network")
    bridge = net_plan.bridge_name(owner=owner, slot=255)
    assert len(bridge) <= 15
    assert net_plan.parse_name(bridge) == (owner, 255)
    assert net_plan.parse_name(net_plan.netns_name(owner=owner, slot=7, index=3)) == (owner, 7)
    assert net_plan.parse_name(net_plan.table_name(owner=owner, slot=4095)) == (owner, 4095)
    for foreign in ("eth0", "docker0", "sl-zzzz-000", "slx-1234-000", "cni0"):
        assert net_plan.parse_name(foreign) is None


def test_owners_differ_by_state_folder() -> None:
    assert net_plan.owner_tag("/a/network") != net_plan.owner_tag("/b/network")
    assert net_plan.owner_tag("/a/network") == net_plan.owner_tag("/a/network")


def test_slots_skip_taken_slots_and_the_hosts_networks() -> None:
    assert net_plan.pick_slot(pool=POOL, taken=[], in_use=[]) == 0
    assert net_plan.pick_slot(pool=POOL, taken=[0, 1], in_use=[]) == 2
    lan = IPv4Network("10.213.0.0/23")  # a LAN that happens to sit in the pool
    assert net_plan.pick_slot(pool=POOL, taken=[2], in_use=[lan]) == 3
    assert net_plan.subnet_of(pool=POOL, slot=3) == IPv4Network("10.213.3.0/24")


def test_a_full_pool_says_so() -> None:
    small = IPv4Network("10.9.0.0/23")
    assert net_plan.slot_count(small) == 2
    with pytest.raises(LookupError, match="in use"):
        net_plan.pick_slot(pool=small, taken=[0, 1], in_use=[])
    with pytest.raises(ValueError, match="outside"):
        net_plan.subnet_of(pool=small, slot=2)


def test_vm_addresses_follow_host_numbers_and_the_hosts_text_names_them() -> None:
    subnet = IPv4Network("10.213.5.0/24")
    assert net_plan.gateway_of(subnet) == IPv4Address("10.213.5.1")
    addresses = {f"algo-{i + 1}": net_plan.vm_address(subnet=subnet, index=i) for i in range(2)}
    text = net_plan.hosts_text(addresses)
    assert "127.0.0.1\tlocalhost\n" in text
    assert "10.213.5.2\talgo-1\n10.213.5.3\talgo-2\n" in text


@pytest.mark.parametrize(
    ("isolated", "egress", "gateway", "routes"),
    [
        (False, "deny", True, [{"dst": "169.254.170.2/32"}]),
        (False, "allow", True, [{"dst": "169.254.170.2/32"}, {"dst": "0.0.0.0/0"}]),
        (True, "allow", False, []),
    ],
)
def test_bridge_config_routes_to_the_server_alias_and_out_only_with_egress(
    isolated: bool, egress: net_plan.Egress, gateway: bool, routes: list[dict[str, str]]
) -> None:
    config = net_plan.bridge_config(
        bridge="sl-abcd-001",
        subnet=IPv4Network("10.213.1.0/24"),
        address=IPv4Address("10.213.1.2"),
        ipam_dir="/state/ipam",
        isolated=isolated,
        egress=egress,
    )
    assert config["isGateway"] is gateway
    assert config["ipMasq"] is False
    assert config["ipam"]["routes"] == routes
    assert config["args"] == {"cni": {"ips": ["10.213.1.2"]}}


def _rules(*, isolated: bool, egress: net_plan.Egress) -> str:
    return net_policy.job_ruleset(
        table="sl_abcd_001",
        bridge="sl-abcd-001",
        subnet=IPv4Network("10.213.1.0/24"),
        relay=(IPv4Address("10.213.1.1"), 40001),
        isolated=isolated,
        egress=egress,
        alias_port=80,
    )


def test_the_server_alias_is_forwarded_to_the_jobs_relay_on_its_own_bridge_only() -> None:
    rules = _rules(isolated=False, egress="deny")
    assert 'iifname "sl-abcd-001" ip daddr 169.254.170.2 tcp dport 80 dnat ip to 10.213.1.1:40001' in rules
    assert "dnat" not in _rules(isolated=True, egress="allow")
    assert net_plan.server_alias_url("http") == "http://169.254.170.2"
    assert net_plan.alias_port("https") == 443


def test_rules_let_only_the_relay_in_and_nothing_out_by_default() -> None:
    rules = _rules(isolated=False, egress="deny")
    assert 'iifname "sl-abcd-001" ip daddr 10.213.1.1 tcp dport 40001 accept' in rules
    assert 'iifname "sl-abcd-001" oifname "sl-abcd-001" accept' in rules
    assert 'iifname "sl-abcd-001" drop' in rules
    assert 'oifname "sl-abcd-001" drop' in rules
    assert "masquerade" not in rules


def test_isolated_rules_have_no_relay_and_no_egress_even_when_allowed() -> None:
    rules = _rules(isolated=True, egress="allow")
    assert "dport" not in rules
    assert "masquerade" not in rules
    assert 'iifname "sl-abcd-001" oifname "sl-abcd-001" accept' in rules


def test_egress_masquerades_and_admits_only_replies() -> None:
    rules = _rules(isolated=False, egress="allow")
    assert 'ip saddr 10.213.1.0/24 oifname != "sl-abcd-001" masquerade' in rules
    assert 'oifname "sl-abcd-001" ct state established,related accept' in rules
    assert rules.index("established") < rules.index('oifname "sl-abcd-001" drop')


def test_a_job_network_is_built_from_the_settings_without_touching_the_host(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, vm_egress="allow", vm_network_pool=IPv4Network("10.50.0.0/20"))
    network = JobNetwork.from_settings(settings, server_url="http://127.0.0.1:8123")
    with pytest.raises(KeyError, match="no network"):
        network.gateway_url("unknown")
    network.detach("unknown")  # nothing attached: nothing to do
    network.close()
    assert list(tmp_path.iterdir()) == []


def test_a_pool_smaller_than_one_job_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="smaller"):
        JobNetwork(
            state_dir=tmp_path,
            pool=IPv4Network("10.50.0.0/25"),
            egress="deny",
            plugin_dir=tmp_path,
            relay_to=None,
        )
