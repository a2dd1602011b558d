"""Core and GPU hand-out: least-used first, nothing restricted when a VM wants them all."""

from __future__ import annotations

from app.runtime.devices import Allocator, Devices


def test_takes_least_used_ids_and_gives_them_back() -> None:
    cores = Allocator([0, 1, 2, 3])
    assert cores.take(2) == (0, 1)
    assert cores.take(2) == (2, 3)
    assert cores.take(1) == (0,)
    cores.release((2, 3))
    assert cores.take(2) == (2, 3)


def test_a_vm_as_large_as_the_machine_is_not_pinned() -> None:
    cores = Allocator([0, 1])
    assert cores.take(2) == ()
    assert cores.take(8) == ()
    assert cores.take(0) == ()


def test_gpu_environment_hides_gpus_from_vms_that_asked_for_none() -> None:
    devices = Devices(cores=Allocator([0, 1]), gpus=Allocator([0, 1, 2, 3]))
    assert devices.gpu_environment((), 0) == {"CUDA_VISIBLE_DEVICES": ""}
    assert devices.gpu_environment((1, 2), 2) == {"CUDA_VISIBLE_DEVICES": "1,2"}
    assert devices.gpu_environment((), 4) == {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}


def test_machines_without_gpus_set_nothing() -> None:
    devices = Devices(cores=Allocator([0]), gpus=Allocator([]))
    assert devices.gpu_environment((), 0) == {}
