"""Run-time control of how many threads numpy's BLAS (OpenBLAS) uses; threadpoolctl is not a dependency.

Why: a VM's thread caps allow one BLAS thread per vCPU, which suits large products, but the networks
tabular data needs are small: a mini-batch's matrix products take microseconds and waking the BLAS
worker threads for each one costs more than it saves (measured with the default mlp at batch 512 on
2 vCPUs: 3x slower with 2 threads than with 1). Training loops therefore ask for one thread when their
largest per-step product is small. When the library or its symbols cannot be found, this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# Multiply-accumulates per matrix product below which a single thread is faster (see the module doc).
SMALL_PRODUCT = 4_000_000
_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "")


@functools.cache
def _library() -> ctypes.CDLL | None:
    for path in _candidates():
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        if _symbol(library, "set_num_threads") and _symbol(library, "get_num_threads"):
            return library
    return None


def _candidates() -> list[Path]:
    # The library numpy already loaded, as listed in this process's memory map (Linux) ...
    maps = Path("/proc/self/maps")
    loaded = (
        {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line}
        if maps.exists()
        else set()
    )
    # ... or bundled next to numpy by its wheels.
    numpy_dir = Path(np.__file__).parent
    bundled = [*numpy_dir.parent.glob("numpy.libs/*openblas*"), *numpy_dir.glob(".libs/*openblas*")]
    return [Path(p) for p in sorted(loaded)] + bundled


def _symbol(library: ctypes.CDLL, name: str) -> Callable[..., Any] | None:
    for prefix in _PREFIXES:
        for suffix in _SUFFIXES:
            function = getattr(library, f"{prefix}_{name}{suffix}", None)
            if function is not None:
                return function  # type: ignore[no-any-return]
    return None


def get_threads() -> int | None:
    library = _library()
    getter = _symbol(library, "get_num_threads") if library else None
    return int(getter()) if getter else None


def set_threads(count: int) -> bool:
    library = _library()
    setter = _symbol(library, "set_num_threads") if library else None
    if setter is None:
        return False
    setter(ctypes.c_int(count))
    return True


@contextmanager
def limit_for(largest_product: int) -> Iterator[None]:
    """Inside the block, one BLAS thread if the largest product (in multiply-adds) is small."""
    before = get_threads()
    if before is None or before == 1 or largest_product >= SMALL_PRODUCT:
        yield
        return
    set_threads(1)
    try:
        yield
    finally:
        set_threads(before)
