"""Which CloudWatch metrics the job metric series make (pure).

In the namespace `/aws/sagemaker/TrainingJobs`, each metric a job's MetricDefinitions found is two kinds
of CloudWatch metric, as SageMaker publishes them: the job's, with the one dimension `TrainingJobName`
(over the values of all its VMs: what the SDK's TrainingJobAnalytics asks for), and one per VM, with the
one dimension `Host` = `<job>/algo-N`. CloudWatch matches dimensions exactly in GetMetricStatistics and
GetMetricData, and as filters (every one named, with the value if given) in ListMetrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NAMESPACE = "/aws/sagemaker/TrainingJobs"
JOB_DIMENSION = "TrainingJobName"
HOST_DIMENSION = "Host"


@dataclass(frozen=True, slots=True, order=True)
class Metric:
    name: str
    job: str
    host: str | None = None  # `algo-1`: the VM's metric; None: the job's

    def dimensions(self) -> list[dict[str, str]]:
        if self.host is None:
            return [{"Name": JOB_DIMENSION, "Value": self.job}]
        return [{"Name": HOST_DIMENSION, "Value": f"{self.job}/{self.host}"}]

    def shown(self) -> dict[str, Any]:
        return {"Namespace": NAMESPACE, "MetricName": self.name, "Dimensions": self.dimensions()}

    def sort_key(self) -> list[str]:
        return [self.name, self.job, self.host or ""]


def metrics_of(series: Iterable[tuple[str, str | None, str]]) -> list[Metric]:
    """The metrics (job, host, name) series make, each once, in name, job, host order."""
    found: set[Metric] = set()
    for job, host, name in series:
        found.add(Metric(name, job))
        if host is not None:
            found.add(Metric(name, job, host))
    return sorted(found, key=Metric.sort_key)


def named(*, namespace: str, name: str, dimensions: Sequence[Mapping[str, str]]) -> Metric | None:
    """The metric a namespace, name and exact dimensions name, None for one not made here."""
    if namespace != NAMESPACE or len(dimensions) != 1:
        return None
    dimension = dimensions[0]
    value = dimension.get("Value", "")
    if dimension.get("Name") == JOB_DIMENSION:
        return Metric(name, value)
    job, slash, host = value.rpartition("/")
    if dimension.get("Name") == HOST_DIMENSION and slash and job and host:
        return Metric(name, job, host)
    return None


def matches(metric: Metric, filters: Sequence[Mapping[str, str]]) -> bool:
    """Whether the metric has every dimension the filters name (with its value, where one is given)."""
    own = {d["Name"]: d["Value"] for d in metric.dimensions()}
    return all(f["Name"] in own and f.get("Value", own[f["Name"]]) == own[f["Name"]] for f in filters)


def job_of_filters(filters: Sequence[Mapping[str, str]]) -> str | None:
    """The one job the filters restrict to, if they do (so the store is asked for that job only)."""
    for dimension in filters:
        value = dimension.get("Value")
        if value is not None and dimension["Name"] == JOB_DIMENSION:
            return value
        if value is not None and dimension["Name"] == HOST_DIMENSION:
            return value.rpartition("/")[0] or None
    return None
