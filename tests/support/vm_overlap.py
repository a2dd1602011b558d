"""How many VMs each host ran at once, from the VMs' recorded start and end times (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any


def most_at_once(vms: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Per host, the most VMs that had started and not yet ended at one instant. A VM that never started
    held nothing; one not yet ended still runs. An end and a start at the same instant: the end first."""
    changes: dict[str, list[tuple[dt.datetime, int]]] = {}
    for vm in vms:
        if not vm.get("started_at"):
            continue
        start = dt.datetime.fromisoformat(vm["started_at"])
        ended = vm.get("ended_at")
        end = dt.datetime.fromisoformat(ended) if ended else dt.datetime.max.replace(tzinfo=start.tzinfo)
        changes.setdefault(vm["host"], []).extend([(start, 1), (end, -1)])
    most = {}
    for host, events in changes.items():
        running = peak = 0
        for _, change in sorted(events):
            running += change
            peak = max(peak, running)
        most[host] = peak
    return most
