"""An in-memory team (`app.training.team`) whose members are threads of one process: the fake behind
tests of data-parallel training, without PyTorch or sockets."""

from __future__ import annotations

import threading
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from app.training import team
from app.training.optim import Optimizer
from app.training.stop import StopFlag
from app.training.team import AveragedSteps

T = TypeVar("T")


class _Room:
    def __init__(self, size: int) -> None:
        self.barrier = threading.Barrier(size)
        self.slots: list[Any] = [None] * size


class ThreadMember:
    def __init__(self, room: _Room, *, rank: int, signalled: StopFlag, agreed: StopFlag) -> None:
        self._room = room
        self.rank, self.size = rank, len(room.slots)
        self.signalled, self.agreed = signalled, agreed

    def sum(self, values: npt.NDArray[Any]) -> None:
        parts = self._exchange(values.copy())
        values[...] = np.sum(parts, axis=0)  # the same order on every member: the same bits

    def gather(self, value: T) -> list[T]:
        return self._exchange(value)

    def averaged(self, optimizer: Optimizer) -> Optimizer:
        return AveragedSteps(
            optimizer, team_sum=self.sum, size=self.size, signalled=self.signalled, agreed=self.agreed
        )

    def agree_on_stop(self) -> None:
        team.agree_on_stop(team_sum=self.sum, signalled=self.signalled, agreed=self.agreed)

    def _exchange(self, value: Any) -> list[Any]:
        room = self._room
        room.slots[self.rank] = value
        room.barrier.wait()
        seen = list(room.slots)
        room.barrier.wait()  # nobody overwrites a slot before everyone has read them all
        return seen


def members(size: int) -> list[ThreadMember]:
    """A team of `size`, one member per thread that will train; each with its own stop flags."""
    room = _Room(size)
    return [ThreadMember(room, rank=rank, signalled=StopFlag(), agreed=StopFlag()) for rank in range(size)]
