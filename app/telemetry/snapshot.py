"""The state the gauges show, read through the repositories in one short session."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.hosts import vms
from app.jobs import repository as jobs_repository
from app.jobs.status import QUEUED, Status
from app.storage.object_store import ObjectStore
from app.telemetry.gauges import Snapshot


def read_snapshot(*, sessions: sessionmaker[Session], store: ObjectStore) -> Snapshot:
    """Jobs by status, the queue, VMs by state, every host's capacity and allocation, the store's totals."""
    with sessions() as session:
        jobs = jobs_repository.count_by_status_of_all_accounts(session)
        vm_states = vms.count_by_state(session)
        hosts = vms.capacities(session)
    by_status: dict[str, int] = {}
    for (status, _), count in jobs.items():
        by_status[status] = by_status.get(status, 0) + count
    queued = sum(
        n for (status, secondary), n in jobs.items() if status == Status.IN_PROGRESS and secondary in QUEUED
    )
    return Snapshot(
        jobs_by_status=by_status,
        queue_depth=queued,
        vms_by_state=vm_states,
        hosts=hosts,
        store=store.totals(),
    )
