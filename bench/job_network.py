"""Job network benchmark: what a job's private network adds to its turnaround, and what the relay costs.

    sudo python bench/job_network.py [--reps 15]

Part 1 times `JobNetwork.attach` and `detach` for jobs of 1, 2 and 4 VMs (and an isolated 2-VM job) on
the real kernel: CNI bridge + host-local + loopback calls, namespaces, the nftables table and the
gateway relay. Medians and p90 over the reps, and the share of the 500 ms create -> Completed overhead
budget that issue asks the OCI executor to keep (runtime start, volume and network together).

Part 2 compares one small request/response round trip to a local TCP server directly and through the
gateway relay, and the bulk throughput of 64 MiB both ways, as ratios.
"""

import argparse
import socket
import socketserver
import statistics
import tempfile
import threading
import time
from ipaddress import IPv4Network
from pathlib import Path

from app.runtime.oci.gateway_relay import GatewayRelay
from app.runtime.oci.network import JobNetwork

BUDGET_MS = 500.0
BULK_BYTES = 64 * 1024 * 1024


def time_network(reps: int) -> None:
    with tempfile.TemporaryDirectory() as state:
        network = JobNetwork(
            state_dir=Path(state),
            pool=IPv4Network("10.213.0.0/16"),
            egress="deny",
            plugin_dir=Path("/usr/lib/cni"),
            relay_to="http://127.0.0.1:9",
        )
        header = f"{'job':<18}{'attach p50':>12}{'p90':>8}{'detach p50':>12}{'p90':>8}"
        print(f"{header}{'sum p50':>10}{'of budget':>11}")
        try:
            for label, vms, isolated in [
                ("1 VM", 1, False),
                ("2 VMs", 2, False),
                ("2 VMs isolated", 2, True),
                ("4 VMs", 4, False),
            ]:
                attach, detach = [], []
                for _ in range(reps):
                    hostnames = [f"algo-{i + 1}" for i in range(vms)]
                    start = time.perf_counter()
                    network.attach(job_key="bench", hostnames=hostnames, isolated=isolated)
                    attach.append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    network.detach("bench")
                    detach.append((time.perf_counter() - start) * 1000)
                total = statistics.median(attach) + statistics.median(detach)
                print(
                    f"{label:<18}{statistics.median(attach):>10.1f}ms{_p90(attach):>6.0f}ms"
                    f"{statistics.median(detach):>10.1f}ms{_p90(detach):>6.0f}ms{total:>8.0f}ms"
                    f"{total / BUDGET_MS:>10.0%}"
                )
        finally:
            network.close()
            network.sweep()


def _p90(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.9) - 1] if len(samples) > 1 else samples[0]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


def time_relay(reps: int) -> None:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        relay = GatewayRelay(target=("127.0.0.1", server.server_address[1]))
        relayed = relay.open(key="bench", address="127.0.0.1")
        try:
            direct_rtt = _round_trip(server.server_address[1], reps * 20)
            relay_rtt = _round_trip(relayed, reps * 20)
            direct_bulk, relay_bulk = _bulk(server.server_address[1]), _bulk(relayed)
        finally:
            relay.shutdown()
            server.shutdown()
    print(f"\n{'path':<18}{'round trip p50':>16}{'64 MiB echo':>14}")
    print(f"{'direct':<18}{direct_rtt * 1e6:>14.0f}us{BULK_BYTES / direct_bulk / 2**20:>9.0f} MiB/s")
    print(f"{'gateway relay':<18}{relay_rtt * 1e6:>14.0f}us{BULK_BYTES / relay_bulk / 2**20:>9.0f} MiB/s")
    print(f"{'relay / direct':<18}{relay_rtt / direct_rtt:>15.1f}x{relay_bulk / direct_bulk:>13.1f}x (time)")


def _round_trip(port: int, count: int) -> float:
    samples = []
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            start = time.perf_counter()
            connection.sendall(b"x" * 200)
            received = 0
            while received < 200:
                received += len(connection.recv(200 - received))
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _bulk(port: int) -> float:
    block = b"x" * (1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as connection:
        start = time.perf_counter()
        reader = threading.Thread(target=_drain, args=(connection, BULK_BYTES))
        reader.start()
        for _ in range(BULK_BYTES // len(block)):
            connection.sendall(block)
        reader.join()
        return time.perf_counter() - start


def _drain(connection: socket.socket, total: int) -> None:
    received = 0
    while received < total:
        received += len(connection.recv(1 << 20))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=15)
    arguments = parser.parse_args()
    time_network(arguments.reps)
    time_relay(arguments.reps)


if __name__ == "__main__":
    main()
