"""Which of this machine's CPU cores and GPUs a VM may use.

A VM with fewer vCPUs than the machine has cores is pinned to the least-used cores (CPU affinity);
a larger one shares them all, as an overcommitted hypervisor does. GPUs are handed out whole, through
`CUDA_VISIBLE_DEVICES`, only where the machine has real ones; VMs without GPUs then see none.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from app.hosts import pool


class Allocator:
    """Hands out device ids, least-used first; thread-safe."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = tuple(ids)
        self._use: Counter[int] = Counter({i: 0 for i in self.ids})
        self._lock = threading.Lock()

    def take(self, count: int) -> tuple[int, ...]:
        """`count` ids (sorted), or () when `count` covers every id (nothing to restrict)."""
        if count <= 0 or count >= len(self.ids):
            return ()
        with self._lock:
            chosen = sorted(self.ids, key=lambda i: (self._use[i], i))[:count]
            self._use.update(chosen)
        return tuple(sorted(chosen))

    def release(self, ids: Sequence[int]) -> None:
        with self._lock:
            self._use.subtract(ids)


@dataclass
class Devices:
    cores: Allocator
    gpus: Allocator

    @classmethod
    def of_this_machine(cls) -> Devices:
        cores = (
            sorted(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else range(os.cpu_count() or 1)
        )
        return cls(cores=Allocator(list(cores)), gpus=Allocator(list(range(pool.count_gpus()))))

    def gpu_environment(self, gpus: Sequence[int], wanted: int) -> dict[str, str]:
        """CUDA_VISIBLE_DEVICES for a VM: its GPUs, or none at all when it asked for none."""
        if not self.gpus.ids:
            return {}
        if wanted >= len(self.gpus.ids):
            return {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in self.gpus.ids)}
        return {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in gpus)}
