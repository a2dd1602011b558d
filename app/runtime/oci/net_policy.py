"""The nftables table that fences one job's network (pure: builds the ruleset text).

One table per job, named after its bridge, so that attaching is one atomic `nft -f` and detaching one
`delete table`. nftables drops a packet that any base chain drops, so each job's table only has to
speak for its own bridge:

- input (to the host itself): only the gateway relay's port on the gateway address, unless isolated;
  every other host service, on any of the host's addresses, is out of reach;
- prerouting: the server's alias (net_plan.SERVER_ALIAS, where botocore looks for container
  credentials) is forwarded to the relay, as the ECS agent forwards it to its own endpoint;
- forward: traffic between the job's own VMs passes (bridged frames reach this hook when the host
  loads br_netfilter); nothing from the bridge is routed anywhere unless egress is allowed, and nothing
  is routed into the bridge but the replies of the job's own connections (so another job's VMs, or the
  LAN, can never open a connection to this one);
- with egress allowed (and not isolated), outbound connections are masqueraded behind the host.

The rules are the second fence: the first is that the VMs get no route out of their subnet (see
net_plan.bridge_config), and a VM without CAP_NET_ADMIN cannot add one.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from app.runtime.oci.net_plan import SERVER_ALIAS, Egress


def job_ruleset(
    *,
    table: str,
    bridge: str,
    subnet: IPv4Network,
    relay: tuple[IPv4Address, int] | None,
    isolated: bool,
    egress: Egress,
    alias_port: int | None = None,
) -> str:
    """`nft -f` input that creates the job's table (replacing any leftover of the same name)."""
    outbound = egress == "allow" and not isolated
    on_bridge = f'iifname "{bridge}"'
    input_rules = []
    if relay is not None and not isolated:
        address, port = relay
        input_rules.append(f"{on_bridge} ip daddr {address} tcp dport {port} accept")
    input_rules.append(f"{on_bridge} drop")
    forward_rules = [f'{on_bridge} oifname "{bridge}" accept']
    forward_rules.append(f"{on_bridge} accept" if outbound else f"{on_bridge} drop")
    if outbound:
        forward_rules.append(f'oifname "{bridge}" ct state established,related accept')
    forward_rules.append(f'oifname "{bridge}" drop')
    chains = [
        _chain("input", "type filter hook input priority filter; policy accept;", input_rules),
        _chain("forward", "type filter hook forward priority filter; policy accept;", forward_rules),
    ]
    if relay is not None and not isolated and alias_port is not None:
        address, port = relay
        alias = f"{on_bridge} ip daddr {SERVER_ALIAS} tcp dport {alias_port} dnat ip to {address}:{port}"
        chains.append(_chain("prerouting", "type nat hook prerouting priority dstnat;", [alias]))
    if outbound:
        masquerade = f'ip saddr {subnet} oifname != "{bridge}" masquerade'
        chains.append(_chain("postrouting", "type nat hook postrouting priority srcnat;", [masquerade]))
    body = "\n".join(chains)
    # Declaring the table first makes the delete valid whether or not a leftover exists.
    return f"table inet {table} {{}}\ndelete table inet {table}\ntable inet {table} {{\n{body}\n}}\n"


def _chain(name: str, hook: str, rules: list[str]) -> str:
    lines = [f"  chain {name} {{", f"    {hook}", *(f"    {rule}" for rule in rules), "  }"]
    return "\n".join(lines)
