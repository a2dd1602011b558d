"""Calls to the `/v1` REST routes and the S3 API: their errors become `ClientError`s like the AWS API's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from app.client import errors, wire
from app.client.transport import Reply, Request, Transport

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def get_json(
    transport: Transport, operation: str, path: str, *, query: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    reply = transport.send(Request(operation, "GET", path, query=query, idempotent=True))
    return json_of(reply, operation)


def page_query(*, max_results: int | None, next_token: str | None) -> list[tuple[str, str]]:
    """The `MaxResults` and `NextToken` query parameters of a REST list, those given."""
    query = [] if max_results is None else [("MaxResults", str(max_results))]
    return query + ([] if next_token is None else [("NextToken", next_token)])


def every_page(list_page: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> dict[str, Any]:
    """`{key: items}` of every page `list_page(**kwargs, next_token=...)` hands out, in order."""
    items: list[Any] = []
    token: str | None = None
    while True:
        page = list_page(**kwargs, next_token=token)
        items.extend(page[key])
        token = page.get("NextToken")
        if not token:
            return {key: items}


def post_json(transport: Transport, operation: str, path: str) -> dict[str, Any]:
    reply = transport.send(Request(operation, "POST", path))
    return json_of(reply, operation)


def json_of(reply: Reply, operation: str) -> dict[str, Any]:
    raise_for_status(reply, operation)
    parsed: dict[str, Any] = reply.response.json()
    return parsed


@contextmanager
def streamed(transport: Transport, request: Request) -> Iterator[httpx.Response]:
    """The open response of a streamed request, closed on exit; errors raised before any body is read."""
    reply = transport.send(request)
    try:
        if reply.response.status_code >= 300:
            reply.response.read()
            raise_for_status(reply, request.operation)
        yield reply.response
    finally:
        reply.response.close()


def raise_for_status(reply: Reply, operation: str) -> None:
    """Problem JSON (`code`/`title`, `detail`) or S3's XML error, as a ClientError."""
    response = reply.response
    if response.status_code < 300:
        return
    code, message = _problem(response.content) or _s3_error(response.content) or (None, None)
    if code is None:
        body = response.content.decode("utf-8", "replace").strip()
        code, message = str(response.status_code), body or response.reason_phrase
    error_response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": reply.metadata()}
    raise errors.client_error(error_response, operation)


def _problem(body: bytes) -> tuple[str, str] | None:
    document = wire.json_or_message(body)
    code = document.get("code") or document.get("title")
    if not isinstance(code, str):
        return None
    return code, str(document.get("detail", ""))


def _s3_error(body: bytes) -> tuple[str, str] | None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != "Error":
        return None
    return root.findtext("Code", ""), root.findtext("Message", "")


def list_objects_v2(document: bytes) -> dict[str, Any]:
    """ListObjectsV2's XML as boto3's s3 client returns it (without ResponseMetadata)."""
    root = ET.fromstring(document)
    result: dict[str, Any] = {}
    for tag in ("Name", "Prefix", "Delimiter", "ContinuationToken", "NextContinuationToken", "StartAfter"):
        if (text := root.findtext(S3_NS + tag)) is not None:
            result[tag] = text
    for tag in ("MaxKeys", "KeyCount"):
        if (text := root.findtext(S3_NS + tag)) is not None:
            result[tag] = int(text)
    result["IsTruncated"] = root.findtext(S3_NS + "IsTruncated") == "true"
    contents = [_object(entry) for entry in root.iter(S3_NS + "Contents")]
    prefixes = [{"Prefix": p.findtext(S3_NS + "Prefix", "")} for p in root.iter(S3_NS + "CommonPrefixes")]
    if contents:
        result["Contents"] = contents
    if prefixes:
        result["CommonPrefixes"] = prefixes
    return result


def _object(entry: ET.Element) -> dict[str, Any]:
    return {
        "Key": entry.findtext(S3_NS + "Key", ""),
        "LastModified": wire.parse_iso(entry.findtext(S3_NS + "LastModified", "")),
        "ETag": entry.findtext(S3_NS + "ETag", ""),
        "Size": int(entry.findtext(S3_NS + "Size", "0")),
        "StorageClass": entry.findtext(S3_NS + "StorageClass", "STANDARD"),
    }
