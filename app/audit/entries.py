"""An audit event as the service and the operator see it, and the aggregation of refusals (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

SUCCESS = "Success"
# What an aggregate of refusals says where the refusals it counts disagree (several operations, say).
VARIOUS = "*"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event; `count` > 1 for refusals of one key (or address) and outcome within one minute."""

    time: dt.datetime
    operation: str
    outcome: str
    account_id: str | None = None
    access_key_id: str | None = None
    source_ip: str | None = None
    resource: str | None = None
    request_id: str | None = None
    count: int = 1


def _minute(time: dt.datetime) -> dt.datetime:
    return time.replace(second=0, microsecond=0)


Group = tuple[str, str | None, dt.datetime, str]


def _group(entry: AuditEntry) -> Group:
    # A key the service knows (an account is attached) is counted per key; anything else per address, so
    # a flood of made-up key ids from one address is still one row a minute.
    if entry.account_id is not None:
        return ("key", entry.access_key_id, _minute(entry.time), entry.outcome)
    return ("ip", entry.source_ip, _minute(entry.time), entry.outcome)


class RefusalAggregator:
    """Refusals counted per (key or source address, minute, outcome) until they are taken to be written."""

    def __init__(self) -> None:
        self._windows: dict[Group, AuditEntry] = {}

    def __len__(self) -> int:
        return len(self._windows)

    def add(self, entry: AuditEntry) -> None:
        group = _group(entry)
        seen = self._windows.get(group)
        self._windows[group] = entry if seen is None else _merge(seen, entry)

    def take(self, *, before: dt.datetime | None) -> list[AuditEntry]:
        """Remove and return the aggregates of minutes that ended by `before` (all of them when None)."""
        done = [g for g in self._windows if before is None or g[2] + dt.timedelta(minutes=1) <= before]
        return [self._windows.pop(g) for g in done]

    def pending(self) -> list[AuditEntry]:
        return list(self._windows.values())


def _merge(seen: AuditEntry, entry: AuditEntry) -> AuditEntry:
    """The first refusal's time and request id, the count of all, and each other field where they agree."""
    return replace(
        seen,
        count=seen.count + entry.count,
        operation=seen.operation if seen.operation == entry.operation else VARIOUS,
        access_key_id=_agreed(seen.access_key_id, entry.access_key_id),
        source_ip=_agreed(seen.source_ip, entry.source_ip),
        resource=_agreed(seen.resource, entry.resource),
    )


def _agreed(first: str | None, other: str | None) -> str | None:
    return first if first == other else None
