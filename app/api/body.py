"""Reading JSON request bodies within limits: a size limit before and while they stream in, and a nesting
limit before any recursive code (the validator, the null stripper) walks them.

orjson itself refuses nesting past 1024 levels, but a body nested a few hundred levels deep would still
exhaust Python's recursion limit in the validator (a RecursionError, a 500); the depth limit here turns it
into a 400 that names the limit, in each surface's error form.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from app.errors import RequestTooLarge, SerializationError


async def read_json(request: Request) -> Any:
    """The request's body as JSON, within the settings' size and depth limits."""
    settings = request.app.state.settings
    return parse_json(await read_limited(request), max_depth=settings.max_json_depth)


async def read_limited(request: Request) -> bytes:
    limit: int = request.app.state.settings.max_request_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise SerializationError("Content-Length is not a number")
        if int(declared) > limit:
            raise RequestTooLarge(f"Request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"Request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, *, max_depth: int) -> Any:
    """The body as JSON; an empty body is an empty object, as botocore sends for no parameters."""
    if not body.strip():
        return {}
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise SerializationError(f"Malformed JSON request body: {error}") from None
    if nesting_depth(document) > max_depth:
        raise SerializationError(f"JSON request body nests deeper than the limit of {max_depth} levels")
    return document


def nesting_depth(document: Any) -> int:
    """How many arrays and objects deep `document` goes (a scalar is 0), walked without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        pending.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest
