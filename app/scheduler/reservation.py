"""Pure EASY backfill: when and where the blocked head of the queue will fit, and what that leaves.

Queue order is FIFO with EASY backfill. Jobs are tried in queue order. The first job that cannot be
placed now, but would fit in the empty pool, is the head, and it gets a reservation. Running VMs are
walked in deadline order; a VM's deadline is the latest time its capacity comes back, i.e. start + max
runtime + stop grace. The shadow time T is the first moment the head's whole gang fits, and the
reservation names the hosts and instance counts it would use at T. A later job may still start now if
  * it ends by T (now + max runtime + stop grace <= T), so its capacity is back before the head needs
    it; or
  * it fits, on every reserved host, in what the reservation leaves spare at T (unreserved hosts are
    not restricted).
Either way the head can still start at T. Runs only end early, never late, so T can only move earlier
in later decisions. Once the head starts, the next blocked job becomes head and gets the reservation,
so no job is starved by a stream of smaller ones; that includes a large gang. Only the head is
protected (EASY, not conservative backfill): other blocked jobs can be overtaken until they become head.

A gang is made of identical instances, so each host fits a whole number of them: the minimum over
resources of free // need. Adding those counts tells exactly whether a gang fits, now or at T; no
packing heuristic is involved.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.scheduler.capacity import Vec, fit_count

ReleaseEvent = tuple[float, int, Vec]  # (time, host position, amount given back then)

_INF = math.inf


@dataclass(frozen=True, slots=True)
class Shadow:
    """The head's gang fits from `time` on, on `hosts` (position -> instances); `spare[pos]` is what the
    reservation leaves on each host at that time (unbounded on the hosts it does not use)."""

    time: float
    hosts: dict[int, int]
    spare: list[list[float]]


def reserve(
    free: Sequence[Sequence[float]], events: Sequence[ReleaseEvent], need: Vec, count: int
) -> Shadow | None:
    """Reserve for `count` instances of `need`, given what is free now and what running VMs release
    when (`events`, in time order); None if capacity no listed VM releases is missing."""
    found = _first_fit_time(free, events, need, count)
    if found is None:
        return None
    time, avail, counts = found
    hosts = _pick_hosts(counts, [fit_count(f, need, count) for f in free], count)
    spare = [[_INF] * 4 for _ in free]
    for pos, reserved in hosts.items():
        spare[pos] = [a - n * reserved for a, n in zip(avail[pos], need, strict=True)]
    return Shadow(time, hosts, spare)


def _first_fit_time(
    free: Sequence[Sequence[float]], events: Sequence[ReleaseEvent], need: Vec, count: int
) -> tuple[float, list[list[float]], list[int]] | None:
    """First release time at which `count` instances of `need` fit, with free amounts and counts then."""
    avail = [list(f) for f in free]
    counts = [fit_count(a, need, count) for a in avail]
    total = sum(counts)
    i = 0
    while total < count:
        if i == len(events):
            return None
        t = events[i][0]
        while i < len(events) and events[i][0] == t:  # everything released at t is back at t
            _, pos, used = events[i]
            avail[pos] = [a + u for a, u in zip(avail[pos], used, strict=True)]
            total -= counts[pos]
            counts[pos] = fit_count(avail[pos], need, count)
            total += counts[pos]
            i += 1
    start = events[i - 1][0] if i else -_INF
    return start, avail, counts


def _pick_hosts(at_shadow: Sequence[int], now: Sequence[int], count: int) -> dict[int, int]:
    """Hosts for the reservation: most instances at T first, so few hosts are restricted; among equals,
    hosts with the least room now, so the room there is now stays open to backfill."""
    chosen: dict[int, int] = {}
    remaining = count
    for pos in sorted(
        (p for p, c in enumerate(at_shadow) if c > 0), key=lambda p: (-at_shadow[p], now[p], p)
    ):
        if remaining == 0:
            break
        chosen[pos] = min(at_shadow[pos], remaining)
        remaining -= chosen[pos]
    return chosen
