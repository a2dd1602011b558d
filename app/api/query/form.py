"""A Query-protocol form (`RoleArn=…&ActionNames.member.1=…`) read back into the nested request botocore
serialized it from, guided by the operation's input shape; pure.

botocore's query serializer writes structure members as `Prefix.Name`, lists as `Prefix.member.N`
(flattened lists as `Prefix.N`), maps as `Prefix.entry.N.key` / `.value`, numbers and booleans as text,
all 1-based. Scalars are converted back to the shape's type where the text allows it; text that does not
convert stays text, so the validator reports it in AWS's words. Parameters the shape does not name are
ignored, as the Query services do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_INTEGERS = ("integer", "long")
_FLOATS = ("float", "double")


def decode(form: Mapping[str, str], shape: Any) -> dict[str, Any]:
    """The request `form` encodes for `shape` (None: an operation without input)."""
    if shape is None:
        return {}
    value = _structure(form, shape, "")
    return value if isinstance(value, dict) else {}


def _read(form: Mapping[str, str], shape: Any, key: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(form, shape, key + ".")
    if kind == "list":
        return _list(form, shape, key)
    if kind == "map":
        return _map(form, shape, key)
    text = form.get(key)
    return None if text is None else _scalar(kind, text)


def _structure(form: Mapping[str, str], shape: Any, prefix: str) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = _read(form, member, prefix + member.serialization.get("name", name))
        if value is not None:
            found[name] = value
    return found if found or not prefix else None


def _list(form: Mapping[str, str], shape: Any, key: str) -> list[Any] | None:
    base = key if shape.serialization.get("flattened") else f"{key}.member"
    if form.get(key) == "":  # botocore's way of sending an empty list
        return []
    items = []
    for index in range(1, len(form) + 1):
        item = _read(form, shape.member, f"{base}.{index}")
        if item is None:
            break
        items.append(item)
    return items or None


def _map(form: Mapping[str, str], shape: Any, key: str) -> dict[str, Any] | None:
    base = key if shape.serialization.get("flattened") else f"{key}.entry"
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    found: dict[str, Any] = {}
    for index in range(1, len(form) + 1):
        name = form.get(f"{base}.{index}.{key_name}")
        if name is None:
            break
        found[name] = _read(form, shape.value, f"{base}.{index}.{value_name}")
    return found or None


def _scalar(kind: str, text: str) -> Any:
    try:
        if kind in _INTEGERS:
            return int(text)
        if kind in _FLOATS:
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text
