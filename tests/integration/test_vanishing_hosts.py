"""A pool whose hosts can vanish (a Ray cluster's nodes): a vanished host has no capacity left; its row
stays while VMs name it (their history), and one that never ran a VM goes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app.hosts import vms
from app.hosts.pool import HostSpec
from app.hosts.vms import Usage, VmState
from tests.support.rows import vm_row

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NODE_1, NODE_2, NODE_3 = (HostSpec(f"node-{n}", 8, 32, 0, 100) for n in (1, 2, 3))


def _capacities(sessions: sessionmaker[Session]) -> dict[str, Usage]:
    with sessions() as session:
        return {c.name: c.capacity for c in vms.capacities(session)}


def test_a_vanished_host_has_no_capacity_and_goes_unless_vms_name_it(
    sessions: sessionmaker[Session], create_job: Callable[..., int]
) -> None:
    job = create_job("job-1")
    with sessions.begin() as session:
        vms.sync_vanishing_hosts(session, [NODE_1, NODE_2, NODE_3])
        session.add(
            vm_row(
                "vm-1", job_id=job, state=VmState.RUNNING, started_at=START, deadline_at=START, host="node-2"
            )
        )

    with sessions.begin() as session:
        vms.sync_vanishing_hosts(session, [NODE_1])
    assert _capacities(sessions) == {"node-1": Usage(8, 32, 0, 100), "node-2": Usage()}

    with sessions.begin() as session:
        vms.terminate(session, "vm-1", now=START, exit_code=-9)
        vms.sync_vanishing_hosts(session, [NODE_1])
    assert _capacities(sessions) == {"node-1": Usage(8, 32, 0, 100), "node-2": Usage()}

    with sessions.begin() as session:  # a node that comes back has its capacity again
        vms.sync_vanishing_hosts(session, [NODE_1, NODE_2])
    assert _capacities(sessions)["node-2"] == Usage(8, 32, 0, 100)
