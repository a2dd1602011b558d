"""Hosts and VMs: each host's capacity with a bar per resource (what live VMs hold of it), and the VMs:
an admin sees every account's on each host, anyone else the VMs of their own account's jobs."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.console.guard import ActingDep, services_of
from app.console.rendering import page
from app.console.routers import router
from app.hosts.service import HostView
from app.wire.pages import PageRequest

_RESOURCES = (("vcpus", "vCPUs"), ("memory_gib", "memory GiB"), ("gpus", "GPUs"), ("disk_gib", "disk GiB"))
_SHOWN = 100


@dataclass(frozen=True)
class Bar:
    label: str
    allocated: float
    capacity: float

    @property
    def percent(self) -> float:
        return 0.0 if self.capacity <= 0 else min(100.0, 100.0 * self.allocated / self.capacity)


def bars(view: HostView) -> list[Bar]:
    host = view.host
    return [
        Bar(label, getattr(host.allocated, field), getattr(host.capacity, field))
        for field, label in _RESOURCES
        if getattr(host.capacity, field) > 0
    ]


@router.get("/hosts")
async def hosts_page(request: Request, acting: ActingDep) -> Response:
    hosts = services_of(request).hosts
    found = await run_in_threadpool(
        lambda: hosts.list_hosts(caller=acting.caller, page=PageRequest(max_results=_SHOWN))
    )
    own = await run_in_threadpool(
        lambda: hosts.list_vms(caller=acting.caller, page=PageRequest(max_results=_SHOWN))
    )
    views = [(view, bars(view)) for view in found.items]
    return page(request, "hosts.html", acting, hosts=views, vms=own.items, isolation=hosts.isolation)
