"""A team (`app.training.team`) over torch.distributed's gloo backend: CPU collectives over TCP.

The model math stays in numpy; torch only moves the buffers, which `torch.from_numpy` shares with
numpy without a copy. Imported only by a VM of a multi-instance job, so only they need PyTorch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import numpy.typing as npt
import torch
import torch.distributed as dist

from app.runtime.rendezvous import Rendezvous
from app.training import team
from app.training.optim import Optimizer
from app.training.stop import StopFlag
from app.training.team import AveragedSteps

T = TypeVar("T")


class GlooTeam:
    def __init__(self, *, rank: int, size: int, signalled: StopFlag, agreed: StopFlag) -> None:
        self.rank, self.size = rank, size
        self._signalled, self._agreed = signalled, agreed

    @classmethod
    def join(
        cls,
        *,
        rank: int,
        size: int,
        meeting: Rendezvous,
        signalled: StopFlag,
        agreed: StopFlag,
        timeout: dt.timedelta,
    ) -> GlooTeam:
        """Wait until every member has joined (rank 0 listens at the meeting point)."""
        dist.init_process_group(
            "gloo",
            init_method=f"tcp://{meeting.master_addr}:{meeting.master_port}",
            rank=rank,
            world_size=size,
            timeout=timeout,
        )
        return cls(rank=rank, size=size, signalled=signalled, agreed=agreed)

    def sum(self, values: npt.NDArray[Any]) -> None:
        dist.all_reduce(torch.from_numpy(values), op=dist.ReduceOp.SUM)

    def gather(self, value: T) -> list[T]:
        gathered: list[Any] = [None] * self.size
        dist.all_gather_object(gathered, value)
        return gathered

    def averaged(self, optimizer: Optimizer) -> Optimizer:
        return AveragedSteps(
            optimizer, team_sum=self.sum, size=self.size, signalled=self._signalled, agreed=self._agreed
        )

    def agree_on_stop(self) -> None:
        team.agree_on_stop(team_sum=self.sum, signalled=self._signalled, agreed=self._agreed)

    def leave(self) -> None:
        dist.destroy_process_group()
