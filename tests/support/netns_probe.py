"""A tiny TCP server and client, run inside a network namespace by the job network tests.

netns_probe.py serve HOST PORT              answers one connection with "pong:<what it read>:<peer>"
netns_probe.py connect HOST PORT TIMEOUT [HOSTS_FILE]
                                            sends "ping", prints the reply or "error:<errno name>";
                                            HOST may be a host name looked up in HOSTS_FILE (no getent)
"""

from __future__ import annotations

import errno
import socket
import sys


def serve(host: str, port: int) -> None:
    with socket.create_server((host, port)) as listener:
        print("ready", flush=True)
        connection, peer = listener.accept()
        with connection:
            data = connection.recv(1024)
            connection.sendall(b"pong:" + data + b":" + peer[0].encode())


def resolve(host: str, hosts_file: str | None) -> str:
    if hosts_file is None:
        return host
    with open(hosts_file) as lines:
        for line in lines:
            address, *names = line.split()
            if host in names:
                return address
    raise SystemExit(f"error:{host} is not in the hosts file")


def connect(host: str, port: int, timeout: float, hosts_file: str | None) -> None:
    try:
        with socket.create_connection((resolve(host, hosts_file), port), timeout=timeout) as connection:
            connection.sendall(b"ping")
            connection.shutdown(socket.SHUT_WR)
            print(connection.recv(1024).decode())
    except TimeoutError:
        print("error:timeout")
    except OSError as error:
        print(f"error:{errno.errorcode.get(error.errno or 0, str(error))}")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        connect(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
