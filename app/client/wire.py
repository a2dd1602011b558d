"""What goes over the wire and back: request params to JSON, responses to boto3's shapes, s3:// URIs."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

# Every timestamp member in the outputs of the training-job and tuning-job operations (botocore's model has
# no other member of these names in them, and the values are numbers on the wire, which no string map
# value is).
TIMESTAMP_MEMBERS = frozenset(
    {
        "ConvergenceDetectedTime",
        "CreationTime",
        "EndTime",
        "HyperParameterTuningEndTime",
        "LastModifiedTime",
        "StartTime",
        "Timestamp",
        "TrainingEndTime",
        "TrainingStartTime",
    }
)


def request_body(params: dict[str, Any]) -> bytes:
    """AWS JSON 1.1 body: datetimes become epoch seconds (naive ones are UTC), as botocore sends them."""
    return json.dumps(_epochs(params), separators=(",", ":")).encode()


def _epochs(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.timestamp()
    if isinstance(value, dict):
        return {key: _epochs(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_epochs(item) for item in value]
    return value


def parse_output(value: Any) -> Any:
    """A JSON response as boto3 returns it: timestamps as aware datetimes, `null` members left out."""
    if isinstance(value, dict):
        return {key: _member(key, item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [parse_output(item) for item in value]
    return value


def _member(key: str, value: Any) -> Any:
    if key in TIMESTAMP_MEMBERS and isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return parse_output(value)


def parse_iso(value: str) -> dt.datetime:
    """ISO 8601 as the REST routes write it (`Z` or an offset)."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def json_or_message(body: bytes) -> dict[str, Any]:
    """The JSON object in a body; a body that is not one becomes `{"message": text}`, as botocore does."""
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"message": body.decode("utf-8", "replace")}
    return parsed if isinstance(parsed, dict) else {"message": str(parsed)}


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def object_path(self) -> str:
        """The REST route of the object, percent-encoded."""
        return f"/v1/objects/{quote(self.bucket, safe='')}/{quote(self.key, safe='/')}"


def parse_s3_uri(uri: str) -> S3Uri:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return S3Uri(bucket, key)


def segment(value: str) -> str:
    """One path segment, percent-encoded."""
    return quote(value, safe="")
