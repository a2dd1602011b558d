"""The tuner's doorbell: says which tuning jobs a wake-up is for.

A create or a stop of a tuning job (and the first pass after a start) asks for a pass over every active
tuning job; a training job that ends asks only for the tuning job it is a trial of, and the tuner finds
that one from the ending job's ARN. A wait that times out is the periodic pass over all of them (it reads
running trials' metrics for early stopping and checks each job's runtime limit).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from app.scheduler.wakeup import Wakeup


@dataclass(frozen=True, slots=True)
class Rings:
    """What rang since the last wait."""

    everything: bool
    ended: frozenset[str]  # ARNs of training jobs that ended


class TunerDoorbell:
    def __init__(self) -> None:
        self._wakeup = Wakeup()
        self._lock = threading.Lock()
        self._everything = True  # the first pass resumes the tuning jobs a restart interrupted
        self._ended: set[str] = set()
        self._wakeup.hint()

    def ring_all(self) -> None:
        """Every active tuning job may have something to do (a create, a stop, a shutdown)."""
        with self._lock:
            self._everything = True
        self._wakeup.hint()

    def training_job_ended(self, arn: str) -> None:
        """The training job `arn` ended: only its tuning job, if it has one, has something to do."""
        with self._lock:
            self._ended.add(arn)
        self._wakeup.hint()

    def wait(self, timeout: float) -> Rings:
        """Block until rung or `timeout` passes, then take (and forget) what rang; a timeout is a ring
        for everything."""
        rung = self._wakeup.wait(timeout)
        with self._lock:
            self._wakeup.clear()
            rings = Rings(everything=self._everything or not rung, ended=frozenset(self._ended))
            self._everything = False
            self._ended.clear()
        return rings
