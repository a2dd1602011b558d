"""The server's Prometheus metrics, in a registry of its own: one per server, so apps in one process (tests)
never share counters, and nothing is registered at import time.

Counters and histograms are updated where things happen (the access log, the scheduler loop); the state
read from the database is a collector computed at scrape time (`app.telemetry.gauges`).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector

# What a request for no known operation counts as: its raw target or path would make a label per caller.
UNKNOWN_OPERATION = "unknown"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Requests: from a cached describe (a millisecond) to a large upload or a followed log (minutes).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
# Scheduler passes: well under a millisecond with an empty queue, seconds with a very long one.
PASS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
# Create to placement: at once on an idle pool, hours behind a long queue.
WAIT_BUCKETS = (0.01, 0.05, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


class Telemetry:
    """The request, scheduler and placement series, and the exposition of everything registered."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "sagelite_requests",
            "Requests answered, by operation (AWS target, S3 operation or REST route) and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "sagelite_request_duration_seconds",
            "Time from a request's arrival to the last byte of its answer, by operation",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._passes = Histogram(
            "sagelite_scheduler_pass_duration_seconds",
            "Duration of the scheduler's passes (load the queue, place, explain waits)",
            buckets=PASS_BUCKETS,
            registry=self.registry,
        )
        self._placement = Histogram(
            "sagelite_job_placement_wait_seconds",
            "Time from a training job's creation to its placement on hosts",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def request_done(self, *, operation: str, status: int, seconds: float) -> None:
        self._requests.labels(operation=operation, status=str(status)).inc()
        self._latency.labels(operation=operation).observe(seconds)

    def scheduler_pass(self, seconds: float) -> None:
        self._passes.observe(seconds)

    def placed(self, wait_seconds: float) -> None:
        self._placement.observe(max(wait_seconds, 0.0))

    def exposition(self) -> bytes:
        """Every series in Prometheus' text format; reads the database for the collected gauges."""
        return generate_latest(self.registry)
