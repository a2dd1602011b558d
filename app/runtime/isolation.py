"""Which executor runs VMs: `SAGELITE_ISOLATION=auto|oci|process` against what this machine allows."""

from __future__ import annotations

import logging

from app.config import Settings
from app.runtime.executor import Executor, LocalExecutor
from app.runtime.oci import network, runc
from app.runtime.oci.executor import OciExecutor

logger = logging.getLogger(__name__)
GIB = 1024**3


class IsolationUnavailable(RuntimeError):
    """`oci` was asked for on a machine where runc cannot run VMs."""


def build_executor(settings: Settings) -> Executor:
    """`oci` where runc is usable (required when asked for by name), else the process executor."""
    missing = runc.usable(settings.runc_binary) if settings.isolation != "process" else "not asked for"
    if settings.isolation == "oci" and missing:
        raise IsolationUnavailable(f"SAGELITE_ISOLATION=oci, but {missing}")
    if missing:
        logger.info("isolation", extra={"isolation": "process", "why": missing})
        return LocalExecutor()
    logger.info("isolation", extra={"isolation": "oci", "runtime": settings.runc_binary})
    return OciExecutor(
        data_dir=settings.data_dir,
        runc_binary=settings.runc_binary,
        pids_limit=settings.vm_pids_limit,
        memory_reserve_bytes=int(settings.vm_memory_reserve_gib * GIB),
        network=_job_networks(settings),
    )


def _job_networks(settings: Settings) -> network.JobNetwork | None:
    """A network per job where the CNI plugins and nftables are installed; else VMs have loopback only
    (they reach neither each other nor the server), which the startup log says."""
    missing = network.unavailable(settings)
    if missing:
        logger.warning("no job networks: VMs have loopback only", extra={"why": missing})
        return None
    return network.JobNetwork.from_settings(settings)
