"""The live line `jobs wait` shows: secondary status, elapsed time and the latest metrics.

On a terminal the line is redrawn in place; into a file or pipe a new line is written whenever the
status or a metric changes, so logs stay readable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TextIO

from app.cli import output
from app.client import SageliteClientError, SageMakerClient

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
_CLEAR_TO_END = "\x1b[K"

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ProgressLine:
    def __init__(self, client: SageMakerClient, stream: TextIO, *, clock: Clock = _now) -> None:
        self._client = client
        self._stream = stream
        self._clock = clock
        self._tty = stream.isatty()
        self._shown: tuple[Any, ...] | None = None

    def update(self, job: dict[str, Any]) -> None:
        """Called with each DescribeTrainingJob response while waiting."""
        metrics = latest_metrics(self._client, job)
        text = line(job, metrics, now=self._clock())
        if self._tty:
            self._stream.write(f"\r{text}{_CLEAR_TO_END}")
        else:
            changed = (job["TrainingJobStatus"], job.get("SecondaryStatus"), output.metrics_text(metrics))
            if changed == self._shown:
                return
            self._shown = changed
            self._stream.write(text + "\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


def line(job: dict[str, Any], metrics: dict[str, float], *, now: dt.datetime) -> str:
    status = f"{job['TrainingJobStatus']}/{job.get('SecondaryStatus', '-')}"
    parts = [job["TrainingJobName"], status, f"elapsed {output.duration(elapsed(job, now))}"]
    if metrics:
        parts.append(output.metrics_text(metrics))
    return "  ".join(parts)


def elapsed(job: dict[str, Any], now: dt.datetime) -> float:
    """Seconds since the job was created, up to its end once it has ended."""
    end = now
    if job["TrainingJobStatus"] in TERMINAL:
        end = job.get("TrainingEndTime") or job.get("LastModifiedTime") or now
    created: dt.datetime = job["CreationTime"]
    return (end - created).total_seconds()


def latest_metrics(client: SageMakerClient, job: dict[str, Any]) -> dict[str, float]:
    """FinalMetricDataList when the job has one, else the last point of each series found so far."""
    final = {m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList", [])}
    if final or job["TrainingJobStatus"] != "InProgress":
        return final
    try:
        series = client.get_training_job_metrics(job["TrainingJobName"]).get("metrics", {})
    except SageliteClientError:
        return {}
    return {name: float(points[-1]["value"]) for name, points in series.items() if points}
