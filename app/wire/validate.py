"""Validation of a request against its botocore input shape, with AWS's own error wording.

AWS reports every broken constraint at once, naming each member by its lowerCamelCase path:
    1 validation error detected: Value 'x' at 'resourceConfig.instanceType' failed to satisfy
    constraint: Member must satisfy enum value set: [ml.m4.xlarge, ...]
List members are addressed `inputDataConfig.1.member.channelName` (1-based), as AWS does.
Type mismatches are SerializationExceptions, as the AWS JSON protocol reports them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
from typing import Any

from app.bounded_regex import BoundedRegex, InvalidRegex, MatchTimeout, compile_bounded
from app.errors import SerializationError, ValidationError
from app.wire import model


def validate(operation: str, params: Any, *, service: str = model.SAGEMAKER) -> dict[str, Any]:
    """Return `params`, null members dropped, if it satisfies the input shape of `service`'s operation;
    raise otherwise.

    A null member means the member is absent (as AWS reads it), so callers never see None values.
    """
    if not isinstance(params, dict):
        raise SerializationError("Request body must be a JSON object")
    problems: list[str] = []
    _check(model.input_shape(operation, service=service), params, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise ValidationError(f"{count} validation {noun} detected: " + "; ".join(problems))
    cleaned: dict[str, Any] = _without_nulls(params)
    return cleaned


def _without_nulls(value: Any) -> Any:
    # Validation refused null list items and map values, so every None left is a member meaning "absent".
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _check(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    checker = _CHECKERS.get(shape.type_name)
    if checker is not None:
        checker(shape, value, path, problems)


def _member_path(parent: str, name: str) -> str:
    camel = name[:1].lower() + name[1:]
    return f"{parent}.{camel}" if parent else camel


def _type_error(path: str, expected: str, value: Any) -> SerializationError:
    where = f"'{path}'" if path else "the request"
    return SerializationError(f"Expected {expected} at {where} but got {type(value).__name__}: {value!r:.80}")


def _structure(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        raise _type_error(path, "an object", value)
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(
                f"Value null at '{_member_path(path, name)}' failed to satisfy constraint: "
                "Member must not be null"
            )
    for name, item in value.items():
        member = shape.members.get(name)
        if member is None:
            problems.append(f"Unknown member '{name}' at '{path or 'request'}'")
        elif item is not None:
            _check(member, item, _member_path(path, name), problems)


def _list(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, list):
        raise _type_error(path, "a list", value)
    _size(shape, value, path, problems, "length")
    for index, item in enumerate(value, start=1):
        _check(shape.member, item, f"{path}.{index}.member", problems)


def _map(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        raise _type_error(path, "a map", value)
    _size(shape, value, path, problems, "length")
    for side, sub in (("key", shape.key), ("value", shape.value)):
        inner: list[str] = []
        for key, item in value.items():
            _check(sub, key if side == "key" else item, f"{path}.{side}", inner)
        if inner:
            reasons = sorted({p.split("failed to satisfy constraint: ", 1)[-1] for p in inner})
            problems.append(
                f"Value '{_render(value)}' at '{path}' failed to satisfy constraint: "
                f"Map {side} must satisfy constraint: [{', '.join(reasons)}]"
            )


def _string(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        raise _type_error(path, "a string", value)
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        problems.append(_failure(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
        return
    _size(shape, value, path, problems, "length")
    pattern = PATTERN_EXTENSIONS.get(shape.name, shape.metadata.get("pattern"))
    if pattern and not _matches(pattern, value):
        problems.append(_failure(value, path, f"Member must satisfy regular expression pattern: {pattern}"))


def _integer(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(path, "an integer", value)
    bits = _INTEGER_BITS[shape.type_name]
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise _type_error(path, f"a {bits}-bit integer", value)
    _size(shape, value, path, problems, "value")


def _number(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(path, "a number", value)
    _size(shape, value, path, problems, "value")


def _boolean(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, bool):
        raise _type_error(path, "a boolean", value)


def _timestamp(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if parse_timestamp(value) is None:
        raise _type_error(path, "a timestamp (epoch seconds or ISO 8601)", value)


def _blob(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        raise _type_error(path, "base64 text", value)
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error as error:
        raise _type_error(path, "base64 text", value) from error


def _size(shape: Any, value: Any, path: str, problems: list[str], what: str) -> None:
    measured = len(value) if what == "length" else value
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and measured < low:
        problems.append(_failure(value, path, f"Member must have {what} greater than or equal to {low}"))
    elif high is not None and measured > high:
        problems.append(_failure(value, path, f"Member must have {what} less than or equal to {high}"))


def _failure(value: Any, path: str, constraint: str) -> str:
    return f"Value '{_render(value)}' at '{path}' failed to satisfy constraint: {constraint}"


def _render(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:100] + "..."


# A value's budget against one pattern of the model on the backtracking engine.
PATTERN_TIMEOUT_SECONDS = 0.05

# Local extensions to the model: `file://` input channels read a directory of the server's machine.
PATTERN_EXTENSIONS = {"S3Uri": "(https|s3)://([^/]+)/?(.*)|file:///.*"}


def _matches(pattern: str, value: str) -> bool:
    """Whether `value` is all of the pattern's; a value that makes the pattern backtrack past its budget
    does not (the model's patterns are fixed, but a hostile value can still make some of them slow)."""
    compiled = _compiled(pattern)
    try:
        return compiled is None or compiled.fullmatch(value)
    except MatchTimeout:
        return False


@functools.cache
def _compiled(pattern: str) -> BoundedRegex | None:
    # The model's patterns are Java regexes: where RE2 does not read them (\p{Alnum}, lookbehinds),
    # `regex` does, on a time budget. A few use Java-only syntax neither reads: those constrain nothing here.
    try:
        return compile_bounded(pattern, timeout=PATTERN_TIMEOUT_SECONDS)
    except InvalidRegex:
        return None


def parse_timestamp(value: Any) -> dt.datetime | None:
    """Epoch seconds (what botocore sends) or ISO 8601 (what people type) → aware UTC datetime."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        if isinstance(value, str):
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            # In UTC here, so an offset that pushes the time past year 1 or 9999 is refused, not stored.
            return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


# Java's int and long, as the AWS JSON protocol reads `integer` and `long` members.
_INTEGER_BITS = {"integer": 32, "long": 64}

_CHECKERS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "float": _number,
    "double": _number,
    "boolean": _boolean,
    "timestamp": _timestamp,
    "blob": _blob,
}
