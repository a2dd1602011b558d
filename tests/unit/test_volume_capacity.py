"""How much VolumeSizeInGB placement may promise on this machine's disk (pure)."""

from __future__ import annotations

from app.hosts import pool


def test_real_volumes_are_never_overcommitted_and_never_take_the_reserve() -> None:
    capacity = pool.volume_capacity_gib(free_gib=50.0, reserve_gib=2.0, overcommit=4.0, real_volumes=True)
    assert capacity == 48.0  # every volume full at once still leaves the reserve free


def test_polled_folders_are_overcommitted_above_the_reserve() -> None:
    capacity = pool.volume_capacity_gib(free_gib=50.0, reserve_gib=2.0, overcommit=4.0, real_volumes=False)
    assert capacity == 192.0


def test_a_disk_with_less_free_than_the_reserve_offers_nothing() -> None:
    assert pool.volume_capacity_gib(free_gib=1.5, reserve_gib=2.0, overcommit=4.0, real_volumes=True) == 0.0
