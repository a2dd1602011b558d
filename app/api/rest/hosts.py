"""`/v1/hosts` and `/v1/vms`: the host pool's capacity and the VMs carved out of it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.api.rest.responses import JSON
from app.db.models import Host, TrainingJob, Vm
from app.errors import NotFound, ValidationError
from app.hosts import vms
from app.services import Services

router = APIRouter(tags=["hosts and VMs"], default_response_class=JSON)

RESOURCES = ("vcpus", "memory_gib", "gpus", "disk_gib")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.get("/v1/hosts", summary="Hosts with their capacity, what live VMs hold, and what is free")
async def list_hosts(request: Request) -> Any:
    with _services(request).sessions() as session:
        usage = vms.usage_by_host(session)
        return {"hosts": [_host(h, usage.get(h.name, vms.Usage())) for h in vms.hosts(session)]}


@router.get("/v1/vms", summary="VMs, newest first; `?job=NAME` keeps one job's")
async def list_vms(request: Request, job: str | None = None) -> Any:
    statement = select(Vm, TrainingJob.name).join(TrainingJob, Vm.job_id == TrainingJob.id)
    if job is not None:
        statement = statement.where(TrainingJob.name_key == job.lower())
    with _services(request).sessions() as session:
        rows = session.execute(statement.order_by(Vm.deadline_at.desc(), Vm.hostname))
        return {"vms": [_vm(vm, name) for vm, name in rows]}


@router.get("/v1/vms/{vm_id}", summary="One VM")
async def get_vm(request: Request, vm_id: str) -> Any:
    with _services(request).sessions() as session:
        row = session.execute(
            select(Vm, TrainingJob.name).join(TrainingJob, Vm.job_id == TrainingJob.id).where(Vm.id == vm_id)
        ).one_or_none()
    if row is None:
        raise NotFound(f"No VM {vm_id}")
    return _vm(*row)


@router.post("/v1/vms/{vm_id}/pause", summary="SIGSTOP the VM's processes; its deadline keeps running")
async def pause(request: Request, vm_id: str) -> Any:
    services = _services(request)
    await get_vm(request, vm_id)  # 404 for an unknown VM
    if not await run_in_threadpool(services.supervisor.pause, vm_id):
        raise ValidationError(f"VM {vm_id} is not Running, so it cannot be paused")
    return await get_vm(request, vm_id)


@router.post("/v1/vms/{vm_id}/resume", summary="SIGCONT a paused VM")
async def resume(request: Request, vm_id: str) -> Any:
    services = _services(request)
    await get_vm(request, vm_id)  # 404 for an unknown VM
    if not await run_in_threadpool(services.supervisor.resume, vm_id):
        raise ValidationError(f"VM {vm_id} is not Paused, so it cannot be resumed")
    return await get_vm(request, vm_id)


def _host(host: Host, used: vms.Usage) -> dict[str, Any]:
    capacity = {name: getattr(host, name) for name in RESOURCES}
    allocated = {name: getattr(used, name) for name in RESOURCES}
    free = {name: capacity[name] - allocated[name] for name in RESOURCES}
    return {"name": host.name, "capacity": capacity, "allocated": allocated, "free": free}


def _vm(vm: Vm, job: str) -> dict[str, Any]:
    return {
        "id": vm.id,
        "job": job,
        "host": vm.host,
        "instance_type": vm.instance_type,
        "hostname": vm.hostname,
        "state": vm.state,
        "pid": vm.pid,
        "exit_code": vm.exit_code,
        "started_at": vm.started_at,
        "ended_at": vm.ended_at,
    }
