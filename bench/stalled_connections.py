"""A normal client's latency beside stalled ones, and how fast the server cuts the stalled ones off.

    .venv/bin/python bench/stalled_connections.py [--stalled 2000] [--requests 500] [--header-timeout 2]

Starts `sagelite serve` with a short header and body deadline, times `--requests` sequential
`GET /healthz` on one kept-alive connection alone, then again while `--stalled` loopback connections sit
stalled (a third send nothing, a third half a header, a third headers and half a body), and reports the
p50 / p99 side by side with their ratio, and when the last stalled connection was closed against the
deadline. Goals: p99 beside the stalled clients within 2x of alone (and under 10 ms), all closed by the
deadline plus the time the timed requests take.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import running_server  # noqa: E402
from tests.support.stalled import file_limit, latencies, p99, stalled_connections, wait_all_closed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stalled", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--header-timeout", type=float, default=2.0)
    args = parser.parse_args()
    env = {
        "SAGELITE_HEADER_TIMEOUT_SECONDS": str(args.header_timeout),
        "SAGELITE_BODY_TIMEOUT_SECONDS": str(args.header_timeout),
    }
    with (
        tempfile.TemporaryDirectory() as scratch,
        file_limit(args.stalled * 2 + 512),
        running_server(Path(scratch) / "data", env=env) as server,
    ):
        port = urlsplit(server.url).port or 0
        alone = latencies(server.url, requests=args.requests)
        with stalled_connections(port, args.stalled) as sockets:
            opened = time.monotonic()  # all of them open
            beside = latencies(server.url, requests=args.requests)
            waited = time.monotonic() - opened
            closed, last = wait_all_closed(sockets, timeout=args.header_timeout + 30)
    print(f"{'GET /healthz':<28}{'alone':>10}{f'beside {args.stalled} stalled':>24}{'ratio':>8}")
    for name, pick in (("p50 (ms)", statistics.median), ("p99 (ms)", p99)):
        a, b = pick(alone) * 1000, pick(beside) * 1000
        print(f"{name:<28}{a:>10.2f}{b:>24.2f}{b / a:>8.2f}")
    within = waited + last  # an upper bound: the wait starts after the timed requests
    print(
        f"stalled connections closed: {closed}/{args.stalled}, all within {within:.2f} s of the last one "
        f"opening (deadline {args.header_timeout:.1f} s, ratio {within / args.header_timeout:.2f})"
    )


if __name__ == "__main__":
    main()
