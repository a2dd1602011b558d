"""`/v1/hosts` and `/v1/vms`: the host pool's capacity and the VMs carved out of it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.api.deps import HostsDep
from app.api.rest.responses import JSON
from app.hosts import vms

router = APIRouter(tags=["hosts and VMs"], default_response_class=JSON)


@router.get(
    "/v1/hosts",
    summary="Hosts with their capacity, what live VMs hold, and what is free; how VMs are isolated",
)
async def list_hosts(hosts: HostsDep) -> Any:
    return {"isolation": hosts.isolation, "hosts": [_host(h) for h in hosts.list_hosts()]}


@router.get("/v1/vms", summary="VMs, newest first; `?job=NAME` keeps one job's")
async def list_vms(hosts: HostsDep, job: str | None = None) -> Any:
    return {"vms": [asdict(vm) for vm in hosts.list_vms(job_name=job)]}


@router.get("/v1/vms/{vm_id}", summary="One VM")
async def get_vm(vm_id: str, hosts: HostsDep) -> Any:
    return asdict(hosts.get_vm(vm_id))


@router.post("/v1/vms/{vm_id}/pause", summary="Freeze the VM's processes; its deadline keeps running")
async def pause(vm_id: str, hosts: HostsDep) -> Any:
    return asdict(await run_in_threadpool(hosts.pause, vm_id))


@router.post("/v1/vms/{vm_id}/resume", summary="Thaw a paused VM")
async def resume(vm_id: str, hosts: HostsDep) -> Any:
    return asdict(await run_in_threadpool(hosts.resume, vm_id))


def _host(host: vms.HostCapacity) -> dict[str, Any]:
    return {
        "name": host.name,
        "capacity": asdict(host.capacity),
        "allocated": asdict(host.allocated),
        "free": asdict(host.free),
    }
