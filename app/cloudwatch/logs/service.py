"""CloudWatch Logs for one caller: its account's job logs as the group `/aws/sagemaker/TrainingJobs`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.auth.caller import Caller
from app.cloudwatch.errors import InvalidParameter
from app.cloudwatch.logs import events, filter_pattern, filtering, positions, streams
from app.cloudwatch.logs.streams import GROUP, StreamInfo
from app.errors import NotFound
from app.jobs.service import TrainingJobService
from app.jobs.status import TERMINAL
from app.runtime import log_events
from app.wire import tokens


@dataclass(frozen=True)
class LogsService:
    work_dir: Path
    jobs: TrainingJobService
    region: str

    def describe_log_groups(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """The one group, once the account has logs, if it matches the prefix or pattern."""
        prefix = params.get("logGroupNamePrefix", "")
        pattern = params.get("logGroupNamePattern", "")
        if prefix and pattern:
            raise InvalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive")
        root = streams.account_dir(self.work_dir, account_id=caller.account_id)
        if not (root.is_dir() and GROUP.startswith(prefix) and pattern.lower() in GROUP.lower()):
            return {"logGroups": []}
        arn = self._group_arn(caller)
        creation = int(root.stat().st_ctime * 1000)
        group = {"logGroupName": GROUP, "creationTime": creation, "metricFilterCount": 0, "storedBytes": 0}
        return {"logGroups": [group | {"arn": f"{arn}:*", "logGroupArn": arn, "logGroupClass": "STANDARD"}]}

    def describe_log_streams(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """The group's streams by name or last event time, a page at a time (the last page has no token)."""
        self._check_group(params, caller)
        prefix = params.get("logStreamNamePrefix", "")
        by_time = params.get("orderBy", "LogStreamName") == "LastEventTime"
        if by_time and prefix:
            raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        descending = bool(params.get("descending", False))
        found = streams.listed(self.work_dir, account_id=caller.account_id, prefix=prefix)
        keyed = sorted(((_sort_key(s, by_time), s) for s in found), key=lambda t: t[0], reverse=descending)
        filters = {"prefix": prefix, "by_time": by_time, "descending": descending}
        if token := params.get("nextToken"):
            cursor = tokens.decode(token, filters, kinds=(int, str))
            after = (cursor[0], cursor[1])
            keyed = [(k, s) for k, s in keyed if (k < after if descending else k > after)]
        limit = params.get("limit", 50)
        page = keyed[:limit]
        result: dict[str, Any] = {"logStreams": [self._stream(s, caller) for _, s in page]}
        if len(keyed) > limit:
            result["nextToken"] = tokens.encode(list(page[-1][0]), filters)
        return result

    def get_log_events(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """A page of one stream's events, with tokens to page on forward and backward."""
        self._check_group(params, caller)
        stream = streams.find(self.work_dir, account_id=caller.account_id, name=params["logStreamName"])
        window = events.Window(params.get("startTime"), params.get("endTime"))
        position = positions.parse(params["nextToken"]) if params.get("nextToken") else None
        final = self._final(stream, caller)
        with log_events.opened(stream.path, fallback_ms=stream.creation_ms, final=final) as log:
            page = events.page(
                log,
                window=window,
                position=position,
                from_head=bool(params.get("startFromHead", False)),
                limit=params.get("limit", 10_000),
            )
        return {
            "events": [_event(event) for event in page.events],
            "nextForwardToken": page.forward.token,
            "nextBackwardToken": page.backward.token,
        }

    def filter_log_events(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """The events of the named (or prefixed, or all) streams that match the pattern, in time order."""
        self._check_group(params, caller)
        names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix", "")
        if names is not None and prefix:
            raise InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive")
        found = streams.listed(self.work_dir, account_id=caller.account_id, prefix=prefix)
        if names is not None:
            found = [stream for stream in found if stream.name in set(names)]
        pattern_text = params.get("filterPattern", "")
        window = events.Window(params.get("startTime"), params.get("endTime"))
        filters = {"names": names, "prefix": prefix, "pattern": pattern_text, "window": list(vars_of(window))}
        return filtering.filter_events(
            found,
            pattern=filter_pattern.parse(pattern_text),
            window=window,
            limit=params.get("limit", 10_000),
            token=params.get("nextToken"),
            filters=filters,
            final=lambda stream: self._final(stream, caller),
        )

    def _final(self, stream: StreamInfo, caller: Caller) -> bool:
        """Whether the stream's writer is done (its job has ended, or is gone): its last line counts."""
        try:
            return self.jobs.status_of(stream.job_name, caller=caller) in TERMINAL
        except NotFound:
            return True

    def _check_group(self, params: dict[str, Any], caller: Caller) -> None:
        name = params.get("logGroupName")
        identifier = params.get("logGroupIdentifier")
        if (name is None) == (identifier is None):
            raise InvalidParameter("Should provide either logGroupName or logGroupIdentifier.")
        group = name if name is not None else str(identifier).rpartition(":log-group:")[2].removesuffix(":*")
        streams.check_group(self.work_dir, account_id=caller.account_id, group=group)

    def _group_arn(self, caller: Caller) -> str:
        return f"arn:aws:logs:{self.region}:{caller.account_id}:log-group:{GROUP}"

    def _stream(self, stream: StreamInfo, caller: Caller) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "logStreamName": stream.name,
            "creationTime": stream.creation_ms,
            "arn": f"{self._group_arn(caller)}:log-stream:{stream.name}",
            "storedBytes": 0,
        }
        if stream.first_event_ms is not None and stream.last_event_ms is not None:
            shown |= {
                "firstEventTimestamp": stream.first_event_ms,
                "lastEventTimestamp": stream.last_event_ms,
                "lastIngestionTime": stream.last_event_ms,
            }
        return shown


def vars_of(window: events.Window) -> tuple[int | None, int | None]:
    return window.start_ms, window.end_ms


def _sort_key(stream: StreamInfo, by_time: bool) -> tuple[int, str]:
    return (stream.last_event_ms or stream.creation_ms if by_time else 0, stream.name)


def _event(event: log_events.Event) -> dict[str, Any]:
    message = event.message.decode("utf-8", "replace")
    return {"timestamp": event.timestamp, "message": message, "ingestionTime": event.timestamp}
