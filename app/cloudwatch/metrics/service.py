"""CloudWatch metrics for one caller: its account's job metric series (`identity` says which metrics
they make), cut into periods (`periods`) and summarized (`statistics`) as CloudWatch does."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from app.auth.caller import Caller
from app.clock import Clock
from app.cloudwatch.errors import (
    InvalidNextToken,
    InvalidParameterCombination,
    InvalidParameterValue,
    MissingParameter,
)
from app.cloudwatch.metrics import data_pages, identity, periods, statistics
from app.cloudwatch.metrics.identity import Metric
from app.errors import ValidationError
from app.jobs.metric_series import MetricSeries
from app.wire import tokens
from app.wire.validate import parse_timestamp

LIST_PAGE = 500  # ListMetrics' page, as CloudWatch's
RECENTLY_ACTIVE = {"PT3H": dt.timedelta(hours=3)}
_T = TypeVar("_T")
_QUERY_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class MetricsService:
    series: MetricSeries
    clock: Clock

    def list_metrics(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """The caller's metrics that match the namespace, name and dimension filters, 500 a page."""
        namespace, name = params.get("Namespace"), params.get("MetricName")
        filters: list[dict[str, str]] = params.get("Dimensions", [])
        if namespace not in (None, identity.NAMESPACE):
            return {"Metrics": []}
        found = self.series.of_account(caller=caller, job_name=identity.job_of_filters(filters), name=name)
        if recent := RECENTLY_ACTIVE.get(params.get("RecentlyActive", "")):
            found = [series for series in found if series.last >= self.clock() - recent]
        metrics = identity.metrics_of((s.job_name, s.host, s.name) for s in found)
        keyed = [(m.sort_key(), m) for m in metrics if identity.matches(m, filters)]
        request = {k: params.get(k) for k in ("Namespace", "MetricName", "Dimensions", "RecentlyActive")}
        if token := params.get("NextToken"):
            after = _cursor(token, request, kinds=(str, str, str))
            keyed = [(key, metric) for key, metric in keyed if key > after]
        result: dict[str, Any] = {"Metrics": [metric.shown() for _, metric in keyed[:LIST_PAGE]]}
        if len(keyed) > LIST_PAGE:
            result["NextToken"] = tokens.encode(keyed[LIST_PAGE - 1][0], request)
        return result

    def get_metric_statistics(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """The statistics of one metric in each period of the range that holds values."""
        simple: list[str] = params.get("Statistics", [])
        extended: list[str] = params.get("ExtendedStatistics", [])
        if not simple and not extended:
            raise InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics")
        if bad := [stat for stat in extended if statistics.percentile_of(stat) is None]:
            raise InvalidParameterValue(
                f"The value {bad[0]} for parameter ExtendedStatistics is not supported."
            )
        span = _span(params["StartTime"], params["EndTime"], params["Period"])
        _checked(lambda: periods.check_datapoint_limit(span, statistics=len(simple) + len(extended)))
        metric = identity.named(
            namespace=params["Namespace"], name=params["MetricName"], dimensions=params.get("Dimensions", [])
        )
        datapoints = []
        for start, values in self._buckets(metric, span, params.get("Unit"), caller).items():
            point: dict[str, Any] = {"Timestamp": _time(start), "Unit": "None"}
            point |= {stat: statistics.compute(stat, values) for stat in simple}
            percentiles = {stat: statistics.compute(stat, values) for stat in extended}
            if shown := {stat: value for stat, value in percentiles.items() if value is not None}:
                point["ExtendedStatistics"] = shown
            datapoints.append(point)
        return {"Label": params["MetricName"], "Datapoints": datapoints}

    def get_metric_data(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """Each MetricStat query's values per period, in ScanBy order, MaxDatapoints a page."""
        queries: list[dict[str, Any]] = params["MetricDataQueries"]
        _check_queries(queries)
        limit = params.get("MaxDatapoints", data_pages.DEFAULT_MAX_DATAPOINTS)
        if limit < 1:
            raise InvalidParameterValue("The parameter MaxDatapoints must be greater than 0.")
        request = {k: v for k, v in params.items() if k != "NextToken"}
        offset = _cursor(token, request, kinds=(int,))[0] if (token := params.get("NextToken")) else 0
        descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        results = [
            self._query(query, params["StartTime"], params["EndTime"], descending, caller)
            for query in queries
            if query.get("ReturnData", True)
        ]
        page = data_pages.page(results, offset=offset, limit=limit)
        for result in page.results:  # datetimes: each protocol writes them its own way
            result["Timestamps"] = [_time(timestamp) for timestamp in result["Timestamps"]]
        shown: dict[str, Any] = {"MetricDataResults": page.results, "Messages": []}
        if page.next_offset is not None:
            shown["NextToken"] = tokens.encode([page.next_offset], request)
        return shown

    def _query(
        self, query: dict[str, Any], start: Any, end: Any, descending: bool, caller: Caller
    ) -> data_pages.QueryResult:
        stat = query["MetricStat"]
        shape = stat["Metric"]
        metric = identity.named(
            namespace=shape.get("Namespace", ""),
            name=shape.get("MetricName", ""),
            dimensions=shape.get("Dimensions", []),
        )
        span = _span(start, end, stat["Period"])
        buckets = self._buckets(metric, span, stat.get("Unit"), caller)
        points = [
            (period_start, value)  # epoch seconds, as the JSON protocol sends timestamps
            for period_start, values in buckets.items()
            if (value := statistics.compute(stat["Stat"], values)) is not None
        ]
        label = query.get("Label", shape.get("MetricName", ""))
        return data_pages.QueryResult(query["Id"], label, sorted(points, reverse=descending))

    def _buckets(
        self, metric: Metric | None, span: periods.Range, unit: str | None, caller: Caller
    ) -> dict[float, list[float]]:
        """The metric's values in the range by period (none for a metric not made here, or a unit other
        than `None`: the values have no unit)."""
        if metric is None or unit not in (None, "None"):
            return {}
        values = self.series.values(
            caller=caller,
            job_name=metric.job,
            name=metric.name,
            host=metric.host,
            start=_time(span.start),
            end=_time(span.end),
        )
        return periods.bucketed(span, ((timestamp.timestamp(), value) for timestamp, value in values))


def _span(start: Any, end: Any, period: int) -> periods.Range:
    start_time, end_time = parse_timestamp(start), parse_timestamp(end)
    assert start_time is not None and end_time is not None  # the model's validation parsed them
    return _checked(
        lambda: periods.time_range(start=start_time.timestamp(), end=end_time.timestamp(), period=period)
    )


def _checked(call: Callable[[], _T]) -> _T:
    """`call()`, with the refusals of `periods` in CloudWatch's codes."""
    try:
        return call()
    except periods.TooManyDatapoints as error:
        raise InvalidParameterCombination(str(error)) from error
    except periods.PeriodError as error:
        raise InvalidParameterValue(str(error)) from error


def _check_queries(queries: Sequence[Mapping[str, Any]]) -> None:
    ids = [query["Id"] for query in queries]
    for index, query in enumerate(queries, start=1):
        where = f"MetricDataQueries.member.{index}"
        if not _QUERY_ID.fullmatch(query["Id"]):
            raise InvalidParameterValue(
                f"The value {query['Id']} for parameter {where}.Id is not valid: it must start with a "
                "lowercase letter and hold only letters, digits and underscores."
            )
        if query["Id"] in ids[: index - 1]:
            raise InvalidParameterValue(f"The value {query['Id']} for parameter {where}.Id is not unique.")
        if "Expression" in query:
            raise InvalidParameterValue(f"{where}.Expression: metric math is not supported by this server.")
        if "MetricStat" not in query:
            raise MissingParameter(f"The parameter {where}.MetricStat is required.")
        if not statistics.is_statistic(query["MetricStat"]["Stat"]):
            stat = query["MetricStat"]["Stat"]
            raise InvalidParameterValue(
                f"The value {stat} for parameter {where}.MetricStat.Stat is not supported."
            )


def _cursor(token: str, request: dict[str, Any], *, kinds: tuple[type, ...]) -> list[Any]:
    try:
        return tokens.decode(token, request, kinds=kinds)
    except ValidationError as error:
        raise InvalidNextToken("The NextToken is not valid for this request.") from error


def _time(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
