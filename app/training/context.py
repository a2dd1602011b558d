"""What an algorithm is handed to train: its hyperparameters, channels, model directory, stop flag."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from app.training import metric_lines


class StopFlag:
    """Set by SIGTERM; algorithms poll it between mini-batches, then save the model they have."""

    def __init__(self) -> None:
        self.requested = False

    def request(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.requested = True


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(frozen=True, kw_only=True)
class Channel:
    name: str
    path: Path
    content_type: str | None = None


@dataclass(frozen=True, kw_only=True)
class TrainContext:
    model_dir: Path
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, Channel] = field(default_factory=dict)
    stop: StopFlag = field(default_factory=StopFlag)
    emit: Callable[[str], None] = _print

    def log(self, message: str) -> None:
        self.emit(message)

    def metrics(self, values: Mapping[str, float], *, epoch: int | None = None) -> None:
        self.emit(metric_lines.format_line(values, epoch=epoch))

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
