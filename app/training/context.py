"""What an algorithm is handed to train: its hyperparameters, channels, model directory, stop flag."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.training import metric_lines
from app.training.stop import StopFlag
from app.training.team import Solo, Team

__all__ = ["Channel", "StopFlag", "TrainContext", "TrainResult"]


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(frozen=True, kw_only=True)
class Channel:
    name: str
    path: Path
    content_type: str | None = None
    distribution: str = "FullyReplicated"  # S3DataDistributionType: ShardedByS3Key means already split


@dataclass(frozen=True, kw_only=True)
class TrainContext:
    model_dir: Path
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, Channel] = field(default_factory=dict)
    stop: StopFlag = field(default_factory=StopFlag)
    emit: Callable[[str], None] = _print
    # The VMs training one model together (one VM alone: `Solo`); see app.training.team.
    team: Team = field(default_factory=Solo)

    def log(self, message: str) -> None:
        self.emit(message)

    def metrics(self, values: Mapping[str, float], *, epoch: int | None = None) -> None:
        """Print a metric line; in a team only algo-1 does (the values are the team's, the same on all)."""
        if self.team.rank == 0:
            self.emit(metric_lines.format_line(values, epoch=epoch))

    @property
    def writes_model(self) -> bool:
        """Only algo-1 writes the model of a team (the others hold the same parameters)."""
        return self.team.rank == 0

    def channel(self, *names: str) -> Channel | None:
        """The first channel present among `names` (e.g. "train", "training")."""
        return next((self.channels[name] for name in names if name in self.channels), None)


@dataclass(frozen=True)
class TrainResult:
    algorithm: str
    epochs: int
    stopped_early: bool
    interrupted: bool
    final_metrics: Mapping[str, float]
