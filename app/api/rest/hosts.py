"""`/v1/hosts` and `/v1/vms`: the host pool's capacity and the VMs carved out of it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.api.deps import HostsDep
from app.api.rest import paging
from app.api.rest.paging import PageDep
from app.api.rest.responses import JSON
from app.hosts import vms

router = APIRouter(tags=["hosts and VMs"], default_response_class=JSON)


@router.get("/v1/hosts", summary="Hosts with their capacity, what live VMs hold, and what is free")
async def list_hosts(hosts: HostsDep, page: PageDep) -> Any:
    found = await run_in_threadpool(hosts.list_hosts, page)
    return paging.listing("hosts", found, [_host(h) for h in found.items])


@router.get("/v1/vms", summary="VMs, newest job first; `?job=NAME` keeps one job's")
async def list_vms(hosts: HostsDep, page: PageDep, job: str | None = None) -> Any:
    found = await run_in_threadpool(hosts.list_vms, job_name=job, page=page)
    return paging.listing("vms", found, [asdict(vm) for vm in found.items])


@router.get("/v1/vms/{vm_id}", summary="One VM")
async def get_vm(vm_id: str, hosts: HostsDep) -> Any:
    return asdict(hosts.get_vm(vm_id))


@router.post("/v1/vms/{vm_id}/pause", summary="SIGSTOP the VM's processes; its deadline keeps running")
async def pause(vm_id: str, hosts: HostsDep) -> Any:
    return asdict(await run_in_threadpool(hosts.pause, vm_id))


@router.post("/v1/vms/{vm_id}/resume", summary="SIGCONT a paused VM")
async def resume(vm_id: str, hosts: HostsDep) -> Any:
    return asdict(await run_in_threadpool(hosts.resume, vm_id))


def _host(host: vms.HostCapacity) -> dict[str, Any]:
    return {
        "name": host.name,
        "capacity": asdict(host.capacity),
        "allocated": asdict(host.allocated),
        "free": asdict(host.free),
    }
