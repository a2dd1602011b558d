"""Job networks on the real kernel: CNI bridge + host-local, network namespaces, nftables, the relay.

Needs root, the CNI plugins and nftables (`make test` installs them when run as root); with CI=true a
missing piece fails these tests instead of skipping them. Traffic never leaves the machine: the
"outside" is a namespace behind a veth that each test makes and removes itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from app.runtime.oci import host_net, net_plan
from app.runtime.oci.network import JobNetwork, VmNet

PROBE = Path(__file__).resolve().parents[1] / "support" / "netns_probe.py"
PLUGINS = Path("/usr/lib/cni")
POOL = IPv4Network("10.213.0.0/16")
LAN = ("198.51.100.1", "198.51.100.2")  # TEST-NET-2: the host's end and the "outside" host
# A dropped SYN is only ever answered by the client's own timeout; an allowed one answers at once.
BLOCKED_SECONDS = 1.0


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "job networks need root"
    for tool in ("ip", "nft", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not (PLUGINS / "bridge").is_file():
        return f"the CNI plugins are not installed in {PLUGINS} (containernetworking-plugins)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _host_can_make_networks() -> None:
    reason = _missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


class _Pong(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"pong:" + self.request.recv(1024) + b":server")


@contextmanager
def pong_server(host: str) -> Iterator[int]:
    with socketserver.ThreadingTCPServer((host, 0), _Pong) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


@pytest.fixture
def server_port() -> Iterator[int]:
    """Stands in for the sagelite server on loopback: what the gateway relay forwards to."""
    with pong_server("127.0.0.1") as port:
        yield port


Attach = Callable[..., dict[str, VmNet]]


@pytest.fixture
def networks(tmp_path: Path, server_port: int) -> Iterator[Callable[..., JobNetwork]]:
    """Makes JobNetworks (one per simulated server); detaches, sweeps and closes them all afterwards."""
    made: list[JobNetwork] = []

    def make(*, egress: net_plan.Egress = "deny", state: str = "server") -> JobNetwork:
        network = JobNetwork(
            state_dir=tmp_path / state,
            pool=POOL,
            egress=egress,
            plugin_dir=PLUGINS,
            relay_to=f"http://127.0.0.1:{server_port}",
        )
        made.append(network)
        return network

    yield make
    for network in made:
        network.close()  # detaches what a failing test left attached
        network.sweep()


def _in_netns(netns: Path | str, *argv: str) -> list[str]:
    return ["nsenter", f"--net={netns}", "--", sys.executable, str(PROBE), *argv]


@contextmanager
def serving(netns: Path | str, *, host: str = "0.0.0.0", port: int = 5000) -> Iterator[None]:
    process = subprocess.Popen(_in_netns(netns, "serve", host, str(port)), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield
    finally:
        process.kill()
        process.wait()


def connect(
    netns: Path | str, host: str, port: int = 5000, *, hosts_text: str | None = None, tmp: Path
) -> str:
    argv = [host, str(port), str(BLOCKED_SECONDS)]
    if hosts_text is not None:
        hosts_file = tmp / "hosts"
        hosts_file.write_text(hosts_text)
        argv.append(str(hosts_file))
    finished = subprocess.run(_in_netns(netns, "connect", *argv), capture_output=True, text=True, timeout=30)
    return finished.stdout.strip() or finished.stderr.strip()


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


@pytest.fixture
def outside() -> Iterator[Path]:
    """A host on the "LAN": a namespace behind a veth whose host end is 198.51.100.1 (never the wire)."""
    name, host_end = f"sltest-lan-{os.getpid()}", "sltestlan0"
    _ip("netns", "add", name)
    try:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", name)
        _ip("address", "add", f"{LAN[0]}/24", "dev", host_end)
        _ip("link", "set", host_end, "up")
        _ip("-n", name, "address", "add", f"{LAN[1]}/24", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        _ip("-n", name, "link", "set", "lo", "up")
        # The worst case: the LAN knows the way back to the job subnets, so only the rules keep them apart.
        _ip("-n", name, "route", "add", "default", "via", LAN[0])
        yield host_net.NETNS_DIR / name
    finally:
        subprocess.run(["ip", "link", "delete", host_end], capture_output=True)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def _forge_default_route(vm: VmNet, gateway: str) -> None:
    """What a VM could do with CAP_NET_ADMIN (which it does not get): the rules must still hold. Given to
    both ends of a connection, it leaves the nftables rules as the only thing in the way."""
    subprocess.run(
        ["nsenter", f"--net={vm.netns_path}", "ip", "route", "replace", "default", "via", gateway],
        check=True,
        capture_output=True,
    )


def _gateway(vm: VmNet) -> str:
    return str(IPv4Network(f"{vm.ip}/24", strict=False).network_address + 1)


def _leftovers(owner: str) -> list[str]:
    names = [
        *host_net.list_netns(),
        *(link.name for link in host_net.list_links()),
        *host_net.list_tables(),
    ]
    return [name for name in names if (parsed := net_plan.parse_name(name)) and parsed[0] == owner]


def _veths(owner: str) -> list[str]:
    return [
        link.name for link in host_net.list_links() if link.master and link.master.startswith(f"sl-{owner}-")
    ]


def test_vms_of_a_job_talk_by_hostname_and_another_jobs_vms_cannot(
    networks: Callable[..., JobNetwork], tmp_path: Path
) -> None:
    network = networks()
    first = network.attach(job_key="first", hostnames=["algo-1", "algo-2"], isolated=False)
    second = network.attach(job_key="second", hostnames=["algo-1", "algo-2"], isolated=False)
    target = first["algo-2"]
    with serving(target.netns_path):
        reply = connect(
            first["algo-1"].netns_path, "algo-2", hosts_text=first["algo-1"].hosts_file_text, tmp=tmp_path
        )
        assert reply == f"pong:ping:{first['algo-1'].ip}"
        intruder = second["algo-1"]
        assert connect(intruder.netns_path, target.ip, tmp=tmp_path) == "error:ENETUNREACH"
        _forge_default_route(intruder, _gateway(intruder))
        _forge_default_route(target, _gateway(target))
        assert connect(intruder.netns_path, target.ip, tmp=tmp_path) == "error:timeout"
        # The second job's own "algo-2" is its own VM: nothing listens there.
        assert connect(intruder.netns_path, "algo-2", hosts_text=intruder.hosts_file_text, tmp=tmp_path) == (
            "error:ECONNREFUSED"
        )
    network.detach("first")
    network.detach("second")


def test_the_gateway_relay_reaches_the_server_and_nothing_else_on_the_host(
    networks: Callable[..., JobNetwork], tmp_path: Path
) -> None:
    network = networks()
    vm = network.attach(job_key="job", hostnames=["algo-1"], isolated=False)["algo-1"]
    url = network.gateway_url("job")
    assert url is not None and url.startswith(f"http://{_gateway(vm)}:")
    port = int(url.rsplit(":", 1)[1])
    assert connect(vm.netns_path, _gateway(vm), port, tmp=tmp_path) == "pong:ping:server"
    # The server's alias (where botocore accepts plain-HTTP container credentials) is the same relay.
    assert network.server_url == "http://169.254.170.2"
    assert connect(vm.netns_path, "169.254.170.2", 80, tmp=tmp_path) == "pong:ping:server"
    assert connect(vm.netns_path, "169.254.170.2", port, tmp=tmp_path) == "error:timeout"
    with pong_server("0.0.0.0") as other_port:  # any other host service, listening on every address
        assert connect(vm.netns_path, _gateway(vm), other_port, tmp=tmp_path) == "error:timeout"
    network.detach("job")


def test_an_isolated_job_reaches_only_its_own_vms(
    networks: Callable[..., JobNetwork], tmp_path: Path
) -> None:
    network = networks(egress="allow")
    open_job = network.attach(job_key="open", hostnames=["algo-1"], isolated=False)["algo-1"]
    sealed = network.attach(job_key="sealed", hostnames=["algo-1", "algo-2"], isolated=True)
    assert network.gateway_url("sealed") is None
    relay_port = int(str(network.gateway_url("open")).rsplit(":", 1)[1])
    vm = sealed["algo-1"]
    with serving(sealed["algo-2"].netns_path):
        assert (
            connect(vm.netns_path, "algo-2", hosts_text=vm.hosts_file_text, tmp=tmp_path)
            == f"pong:ping:{vm.ip}"
        )
    assert connect(vm.netns_path, _gateway(vm), relay_port, tmp=tmp_path).startswith("error:")  # nobody there
    assert connect(vm.netns_path, "169.254.170.2", 80, tmp=tmp_path) == "error:ENETUNREACH"
    assert connect(open_job.netns_path, "169.254.170.2", 80, tmp=tmp_path) == "pong:ping:server"
    assert connect(vm.netns_path, _gateway(open_job), relay_port, tmp=tmp_path) == "error:ENETUNREACH"
    _forge_default_route(vm, _gateway(vm))  # the isolated bridge has no gateway: still nowhere to go
    assert connect(vm.netns_path, _gateway(open_job), relay_port, tmp=tmp_path).startswith("error:")
    network.detach("open")
    network.detach("sealed")


def test_nothing_outside_is_reachable_by_default(
    networks: Callable[..., JobNetwork], outside: Path, tmp_path: Path
) -> None:
    network = networks()
    vm = network.attach(job_key="job", hostnames=["algo-1"], isolated=False)["algo-1"]
    with serving(outside, host=LAN[1]):
        assert connect(vm.netns_path, LAN[1], tmp=tmp_path) == "error:ENETUNREACH"
        _forge_default_route(vm, _gateway(vm))
        assert connect(vm.netns_path, LAN[1], tmp=tmp_path) == "error:timeout"
        # The outside host was listening all along: the host itself reaches it.
        with socket.create_connection((LAN[1], 5000), timeout=5) as probe:
            probe.sendall(b"ping")
            probe.shutdown(socket.SHUT_WR)
            assert probe.recv(1024) == f"pong:ping:{LAN[0]}".encode()
    network.detach("job")


def test_egress_allow_routes_out_behind_the_host(
    networks: Callable[..., JobNetwork], outside: Path, tmp_path: Path
) -> None:
    network = networks(egress="allow")
    vm = network.attach(job_key="job", hostnames=["algo-1"], isolated=False)["algo-1"]
    with serving(outside, host=LAN[1]):
        assert connect(vm.netns_path, LAN[1], tmp=tmp_path) == f"pong:ping:{LAN[0]}"  # masqueraded
    # ... but the LAN still cannot open a connection into the job.
    with serving(vm.netns_path):
        assert connect(outside, vm.ip, tmp=tmp_path).startswith("error:")
    network.detach("job")


def test_detach_and_sweep_leave_nothing_behind(networks: Callable[..., JobNetwork], tmp_path: Path) -> None:
    network = networks()
    owner = net_plan.owner_tag(str((tmp_path / "server").resolve()))
    neighbour = networks(state="neighbour")  # another server on the same machine
    kept = neighbour.attach(job_key="kept", hostnames=["algo-1"], isolated=False)["algo-1"]
    network.attach(job_key="done", hostnames=["algo-1", "algo-2"], isolated=False)
    network.detach("done")
    assert _leftovers(owner) == []
    network.attach(job_key="crashed", hostnames=["algo-1", "algo-2"], isolated=True)
    network.attach(job_key="crashed-too", hostnames=["algo-1"], isolated=False)
    assert len(_leftovers(owner)) == 3 + 2 + 2  # namespaces, bridges, tables
    assert len(_veths(owner)) == 3  # named by the plugin; known by their bridge
    restarted = networks()  # the same state folder: what the server finds after kill -9
    restarted.sweep()
    assert _leftovers(owner) == []
    assert _veths(owner) == []
    assert list((tmp_path / "server" / "ipam").iterdir()) == []
    assert Path(kept.netns_path).exists(), "a sweep removes only its own server's networks"
    neighbour.detach("kept")


def test_jobs_attached_at_once_get_subnets_of_their_own(networks: Callable[..., JobNetwork]) -> None:
    network, neighbour = networks(), networks(state="neighbour")
    with ThreadPoolExecutor(max_workers=4) as pool:
        attached = list(
            pool.map(
                lambda job: (network if job % 2 else neighbour).attach(
                    job_key=f"job-{job}", hostnames=["algo-1", "algo-2"], isolated=False
                ),
                range(4),
            )
        )
    subnets = {IPv4Network(f"{vms['algo-1'].ip}/24", strict=False) for vms in attached}
    assert len(subnets) == 4
    for job in range(4):
        (network if job % 2 else neighbour).detach(f"job-{job}")
