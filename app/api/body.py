"""Reading JSON request bodies with a size limit, refusing oversized ones before and while they stream in."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from app.errors import RequestTooLarge, SerializationError


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


def parse_json(body: bytes) -> Any:
    """The body as JSON; an empty body is an empty object, as botocore sends for no parameters."""
    if not body.strip():
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise SerializationError(f"Malformed JSON request body: {error}") from None
