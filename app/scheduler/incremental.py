"""Pure incremental placement: scheduler passes decided as `placement.decide` would, without deciding
the whole queue again when only time and new arrivals changed.

With a pool full and a long queue, most passes place nothing: a create wakes the scheduler, the new job
joins the tail and waits like the rest. A full pass still costs a few microseconds per queued job,
with the GIL held, on every wake-up. `IncrementalPlanner` keeps the last pass's planner and, when
the next pass sees

  * the same hosts (free amounts, running VMs and their deadlines) and the same stop grace,
  * the last queue as its prefix, with new jobs only after it,
  * a `now` no earlier than the last one,
  * and the last pass placed nothing (so applying it changed nothing),

it considers only the new jobs, from the state the planner reached at the end of the last queue. That
state is exactly where a full pass over the same inputs would be after the same prefix: nothing was
placed, so every free amount and the head's reservation are the hosts' own; every job of the prefix
still waits, for the same reason, because a later `now` only moves a job further past the shadow time
(see `Planner.resume`). Anything else, and the pass is a full one. tests/unit/test_incremental.py
checks the equivalence against `placement.decide` over random sequences of passes.
"""

from collections.abc import Sequence

from app.scheduler.placement import Decision, Demand, HostSnapshot, Planner


class IncrementalPlanner:
    """Decides successive scheduler passes; a pass it can carry on from the last one costs O(new jobs)."""

    def __init__(self) -> None:
        self._planner: Planner | None = None  # the last pass's, while it can still be resumed
        self._hosts: tuple[HostSnapshot, ...] = ()
        self._queue: list[Demand] = []
        self._now = 0.0
        self._grace = 0.0
        self.full_passes = 0
        self.resumed_passes = 0

    def decide(
        self,
        *,
        hosts: Sequence[HostSnapshot],
        queue: Sequence[Demand],
        now: float,
        stop_grace_seconds: float = 0.0,
    ) -> Decision:
        """What `placement.decide` would answer for these arguments."""
        snapshot, demands = tuple(hosts), list(queue)
        planner = self._planner
        if planner is not None and self._carries_on(snapshot, demands, now, stop_grace_seconds):
            decision = planner.resume(demands[len(self._queue) :], now=now)
            self.resumed_passes += 1
        else:
            planner = Planner(snapshot, demands, now=now, grace=stop_grace_seconds)
            decision = planner.run(demands)
            self.full_passes += 1
        # Placements change the hosts once applied: the next pass starts afresh.
        self._planner = None if decision.placements else planner
        self._hosts, self._queue, self._now, self._grace = snapshot, demands, now, stop_grace_seconds
        return decision

    def _carries_on(
        self, hosts: tuple[HostSnapshot, ...], queue: list[Demand], now: float, grace: float
    ) -> bool:
        known = len(self._queue)
        return (
            now >= self._now
            and grace == self._grace
            and len(queue) >= known
            # Identical objects compare at C speed; equal ones are accepted too, at a cost.
            and queue[:known] == self._queue
            and hosts == self._hosts
        )
