"""hypothesis strategies for requests of a botocore operation: bodies its model allows, and hostile ones.

Model-shaped bodies reach deep into validation and the services; hostile ones (any JSON, wrong types,
deep nesting, huge or broken text) probe the protocol layer. Strings follow the model's pattern where
Python's `re` reads it (a Java-only pattern falls back to any text, which the server may refuse: fine,
the property under test is "never a 5xx", not "always accepted").
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

from app.wire.model import service_model

_MAX_DEPTH = 6
# Large enough to cross limits, small enough to keep examples cheap.
_MAX_COLLECTION = 4


def request_body(operation: str) -> st.SearchStrategy[dict[str, Any]]:
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return st.just({})
    return _shaped(shape, 0)  # type: ignore[no-any-return]


def hostile_json() -> st.SearchStrategy[Any]:
    """Any JSON at all, including deep nesting, huge numbers and unpaired surrogates."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**80), max_value=2**80)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=64)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
        ),
        max_leaves=20,
    )


def _shaped(shape: Any, depth: int) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        if depth >= _MAX_DEPTH:
            return st.just({})
        required = set(shape.required_members)
        return st.fixed_dictionaries(
            {name: _shaped(member, depth + 1) for name, member in shape.members.items() if name in required},
            optional={
                name: _shaped(member, depth + 1)
                for name, member in shape.members.items()
                if name not in required
            },
        )
    if kind == "list":
        low = shape.metadata.get("min", 0)
        return st.lists(_shaped(shape.member, depth + 1), min_size=low, max_size=max(low, _MAX_COLLECTION))
    if kind == "map":
        return st.dictionaries(_shaped(shape.key, depth + 1), _shaped(shape.value, depth + 1), max_size=3)
    if kind == "string":
        return _string(shape)
    if kind in ("integer", "long"):
        bits = 31 if kind == "integer" else 63
        return st.integers(
            min_value=shape.metadata.get("min", -(2**bits)), max_value=shape.metadata.get("max", 2**bits - 1)
        )
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers(min_value=0, max_value=4_000_000_000) | st.sampled_from(["2024-01-01T00:00:00Z"])
    return st.binary(max_size=16).map(lambda raw: raw.hex())


def _string(shape: Any) -> st.SearchStrategy[str]:
    if shape.enum:
        return st.sampled_from(list(shape.enum))
    low, high = shape.metadata.get("min", 0), min(shape.metadata.get("max", 64), 256)
    pattern = shape.metadata.get("pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error:
            pattern = None
    if pattern:
        return st.from_regex(f"^(?:{pattern})$", fullmatch=True).filter(lambda s: low <= len(s) <= high)
    return st.text(min_size=low, max_size=max(low, high))
