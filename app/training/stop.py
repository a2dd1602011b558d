"""The flag through which SIGTERM asks a training loop to stop."""

from __future__ import annotations

from types import FrameType


class StopFlag:
    """Set by SIGTERM; algorithms poll it between mini-batches, then save the model they have."""

    def __init__(self) -> None:
        self.requested = False

    def request(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.requested = True
