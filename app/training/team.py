"""The VMs of a multi-instance built-in job as one team that trains one model data-parallel.

Every member trains the same network from the same seed on its own rows; each optimizer step first sums
the gradients across the team (`AveragedSteps`), so every member applies the same averaged gradient and
the parameters stay identical: training on N shards of one mini-batch size is training on their union
with N times that batch. What a member decides from its data (classes, standardization, metrics, when to
stop) goes through the team too, so no member waits in a collective the others have left.

A job with one instance gets `Solo`, which needs no collective library: machines without PyTorch still
train. More instances join a gloo group (`app.training.gloo_team`, imported only then).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from app.runtime import contract, rendezvous
from app.training.errors import ClientError
from app.training.optim import Optimizer, Vector
from app.training.stop import StopFlag

T = TypeVar("T")
# How long a member waits for the others at a collective; a paused VM holds its team up this long.
COLLECTIVE_TIMEOUT = dt.timedelta(minutes=30)


class Team(Protocol):
    @property
    def rank(self) -> int:
        """This member's index: its host's index among the job's hosts (algo-1 is 0)."""
        ...

    @property
    def size(self) -> int: ...

    def sum(self, values: npt.NDArray[Any]) -> None:
        """Replace `values` (a contiguous float array) in place with its sum over every member."""

    def gather(self, value: T) -> list[T]:
        """Every member's `value`, in rank order."""
        ...

    def averaged(self, optimizer: Optimizer) -> Optimizer:
        """`optimizer`, stepping on the team's average gradient."""
        ...

    def agree_on_stop(self) -> None:
        """A collective: when SIGTERM reached any member, every member's agreed stop flag (the algorithm's
        `ctx.stop`) is set here, so that all leave their loop at the same point. `averaged` does this at
        each step; an algorithm without an optimizer calls it once per round."""


class Solo:
    """A team of one: every collective is the identity."""

    rank = 0
    size = 1

    def sum(self, values: npt.NDArray[Any]) -> None:
        """Nothing to add."""

    def gather(self, value: T) -> list[T]:
        return [value]

    def averaged(self, optimizer: Optimizer) -> Optimizer:
        return optimizer

    def agree_on_stop(self) -> None:
        """Nothing to agree: a single VM's `ctx.stop` is its SIGTERM flag itself."""


def agree_on_stop(*, team_sum: Callable[[Vector], None], signalled: StopFlag, agreed: StopFlag) -> None:
    """`Team.agree_on_stop` for a team whose `sum` is `team_sum`."""
    flag = np.array([1.0 if signalled.requested else 0.0], np.float32)
    team_sum(flag)
    if flag[0] > 0:
        agreed.request()


class AveragedSteps:
    """Sums the gradients (and one more slot: did SIGTERM reach this member?) across the team before each
    step. A stop is agreed there, at the same step on every member, so all leave the loop together."""

    def __init__(
        self,
        inner: Optimizer,
        *,
        team_sum: Callable[[Vector], None],
        size: int,
        signalled: StopFlag,
        agreed: StopFlag,
    ) -> None:
        self._inner, self._sum, self._size = inner, team_sum, size
        self._signalled, self._agreed = signalled, agreed
        self._buffer: Vector = np.zeros(0, np.float32)

    def step(self, values: Vector, grads: Vector) -> None:
        if self._buffer.size != grads.size + 1:
            self._buffer = np.zeros(grads.size + 1, np.float32)
        buffer = self._buffer
        buffer[:-1] = grads
        buffer[-1] = 1.0 if self._signalled.requested else 0.0
        self._sum(buffer)
        np.multiply(buffer[:-1], 1.0 / self._size, out=grads)
        if buffer[-1] > 0:
            self._agreed.request()
        self._inner.step(values, grads)


@contextmanager
def joined(
    spec: contract.VmSpec, *, env: Mapping[str, str], signalled: StopFlag, together: bool = True
) -> Iterator[tuple[Team, StopFlag]]:
    """This VM's team and the stop flag its algorithm should watch (the agreed one, with a team).
    `together=False` (an algorithm that is not data-parallel) or a single instance: `Solo`."""
    if not together or len(spec.hosts) == 1:
        yield Solo(), signalled
        return
    try:
        from app.training import gloo_team
    except ModuleNotFoundError as error:
        raise ClientError(
            f"InstanceCount {len(spec.hosts)} trains one model across the instances through PyTorch's gloo, "
            f"which this server lacks ({error}): install sagelite's `distributed` extra"
        ) from None
    meeting = rendezvous.from_environment(env) or rendezvous.on_job_network(spec.hosts)
    agreed = StopFlag()
    team = gloo_team.GlooTeam.join(
        rank=spec.hosts.index(spec.host),
        size=len(spec.hosts),
        meeting=meeting,
        signalled=signalled,
        agreed=agreed,
        timeout=COLLECTIVE_TIMEOUT,
    )
    try:
        yield team, agreed
    finally:
        team.leave()
