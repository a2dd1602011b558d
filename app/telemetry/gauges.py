"""Gauges of the service's state (jobs, queue, VMs, hosts, object store), read at scrape time.

They are computed from the database when Prometheus asks, through the repositories, never by a poller
that could drift or load the database between scrapes. A database that cannot be read is reported
(`sagelite_database_up 0`) rather than failing the whole scrape: the request counters still matter then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.hosts.vms import HostCapacity, Usage, VmState
from app.jobs.status import Status
from app.storage.models import StoreTotals

logger = logging.getLogger(__name__)

RESOURCES = ("vcpus", "memory_gib", "gpus", "disk_gib")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state the gauges show, read in one go."""

    jobs_by_status: dict[str, int]
    queue_depth: int
    vms_by_state: dict[str, int]
    hosts: list[HostCapacity]
    store: StoreTotals


class StateGauges(Collector):
    def __init__(self, read: Callable[[], Snapshot]) -> None:
        self._read = read

    def describe(self) -> list[Metric]:
        # Nothing to describe ahead: registering must not read the database (it would, to learn the names).
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            snapshot = self._read()
        except Exception:
            logger.exception("metrics: the service state could not be read")
            yield _single(
                "sagelite_database_up", "1 when the state gauges could be read from the database", 0
            )
            return
        yield _single("sagelite_database_up", "1 when the state gauges could be read from the database", 1)
        yield _by(
            "sagelite_jobs",
            "Training jobs by status",
            "status",
            _zero_filled(snapshot.jobs_by_status, Status),
        )
        yield _single(
            "sagelite_queue_depth",
            "Training jobs waiting for VMs (Pending or Restarting)",
            snapshot.queue_depth,
        )
        yield _by("sagelite_vms", "VMs by state", "state", _zero_filled(snapshot.vms_by_state, VmState))
        yield _per_resource(
            "sagelite_host_capacity", "A host's resources", [(h.name, h.capacity) for h in snapshot.hosts]
        )
        yield _per_resource(
            "sagelite_host_allocated",
            "What a host's live VMs hold",
            [(h.name, h.allocated) for h in snapshot.hosts],
        )
        yield _single("sagelite_object_store_objects", "Objects in the object store", snapshot.store.objects)
        yield _single(
            "sagelite_object_store_bytes", "Bytes of the objects in the object store", snapshot.store.bytes
        )


def _single(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _by(name: str, documentation: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _zero_filled(found: dict[str, int], names: type[Status] | type[VmState]) -> dict[str, int]:
    """Every known value, 0 when absent: an alert on `== 0` or a rate needs the series to exist."""
    return {str(name): 0 for name in names} | found


def _per_resource(name: str, documentation: str, hosts: list[tuple[str, Usage]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["host", "resource"])
    for host, usage in hosts:
        for resource in RESOURCES:
            family.add_metric([host, resource], getattr(usage, resource))
    return family
