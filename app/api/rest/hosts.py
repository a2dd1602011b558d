"""`/v1/hosts` and `/v1/vms`: the host pool's capacity and the VMs carved out of it.

Capacity is everyone's to see; which VMs run on a host (`vms` in each host) only admins see. `/v1/vms`
lists the caller's VMs (an admin's: every account's); another account's VM answers 404.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.api.deps import CallerDep, HostsDep
from app.api.rest import paging
from app.api.rest.documentation import errors
from app.api.rest.paging import PageDep
from app.api.rest.responses import JSON
from app.hosts.service import HostView

router = APIRouter(tags=["hosts and VMs"], default_response_class=JSON)


@router.get(
    "/v1/hosts",
    summary="Hosts with their capacity, what live VMs hold, and what is free; how VMs are isolated",
)
async def list_hosts(hosts: HostsDep, caller: CallerDep, page: PageDep) -> Any:
    found = await run_in_threadpool(lambda: hosts.list_hosts(caller=caller, page=page))
    return {"isolation": hosts.isolation, **paging.listing("hosts", found, [_host(h) for h in found.items])}


@router.get("/v1/vms", summary="The caller's VMs, newest job first; `?job=NAME` keeps one job's")
async def list_vms(hosts: HostsDep, caller: CallerDep, page: PageDep, job: str | None = None) -> Any:
    found = await run_in_threadpool(lambda: hosts.list_vms(caller=caller, job_name=job, page=page))
    return paging.listing("vms", found, [asdict(vm) for vm in found.items])


@router.get("/v1/vms/{vm_id}", summary="One VM", responses=errors(404))
async def get_vm(vm_id: str, hosts: HostsDep, caller: CallerDep) -> Any:
    return asdict(hosts.get_vm(vm_id, caller=caller))


@router.post(
    "/v1/vms/{vm_id}/pause",
    summary="Freeze the VM's processes; its deadline keeps running",
    responses=errors(404, 409),
)
async def pause(vm_id: str, hosts: HostsDep, caller: CallerDep) -> Any:
    return asdict(await run_in_threadpool(hosts.pause, vm_id, caller=caller))


@router.post("/v1/vms/{vm_id}/resume", summary="Thaw a paused VM", responses=errors(404, 409))
async def resume(vm_id: str, hosts: HostsDep, caller: CallerDep) -> Any:
    return asdict(await run_in_threadpool(hosts.resume, vm_id, caller=caller))


def _host(view: HostView) -> dict[str, Any]:
    host = view.host
    out: dict[str, Any] = {
        "name": host.name,
        "capacity": asdict(host.capacity),
        "allocated": asdict(host.allocated),
        "free": asdict(host.free),
    }
    if view.vms is not None:
        out["vms"] = [
            {"id": vm.id, "job": vm.job, "account_id": vm.account_id, "state": vm.state} for vm in view.vms
        ]
    return out
