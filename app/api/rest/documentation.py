"""What the OpenAPI document promises, kept true: typed bodies, every status a route can answer.

FastAPI documents what a route's signature shows; the rest is added here, once:
- errors are problem JSON (`Problem`), and each route names the statuses its service can raise
  (`errors(404, 409)`);
- the edge can refuse any authenticated route before it runs (401 unsigned, 403 badly signed or not
  allowed, 429 throttled, 503 past the connection cap), and a route with a body can be too large (413):
  `finalize` adds those to every operation that is not open;
- FastAPI's 422 never happens (request validation answers 400 `ValidationException`, as the rest of
  the API does): it is replaced by 400;
- the SageMaker shapes the routes take and give come from botocore's model (`MODEL`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from app.api.rest.model_schemas import REF_PREFIX, ModelSchemas
from app.errors import ValidationError
from app.wire.validate import parse_timestamp

MODEL = ModelSchemas()

_DESCRIPTIONS = {
    400: "The request breaks a constraint (a parameter, a body member or SageMaker's semantics)",
    401: "No credentials: sign the request with SigV4",
    403: "Credentials refused (unknown key, bad signature) or not allowed for this caller",
    404: "No such resource in the caller's account",
    409: "The resource is in a state or use that conflicts with the request",
    413: "The body is larger than the limit",
    429: "Too many requests for this access key: retry after the time in `Retry-After`",
    503: "Too many open connections, or a health check failing: retry later",
}
_EDGE_STATUSES = (401, 403, 429, 503)
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# A time in a query string: epoch seconds, as boto3 sends them, or ISO 8601.
EPOCH_OR_ISO_8601 = {
    "anyOf": [
        # Years 1 to 9999, as the server's timestamps reach: up to, not including, the first second of
        # year 10000 (every double below it reads as a time of 9999, to the microsecond).
        {"type": "number", "minimum": -62135596800, "exclusiveMaximum": 253402300800},
        {"type": "string", "format": "date-time"},
    ]
}
_PARAMETER_SCHEMAS = "x-parameter-schemas"  # taken out of the document by `finalize`


class Problem(BaseModel):
    """An error, as RFC 9457 problem details; `code` is the error's AWS code (as the AWS surfaces say)."""

    type: str = Field(description="Always about:blank: the title says what happened")
    title: str = Field(description="What happened, from the status: NotFound, Conflict, BadRequest, ...")
    status: int
    detail: str
    code: str = Field(description="The AWS error code, e.g. ValidationException, ResourceInUse")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer these error statuses (problem JSON)."""
    return {status: _error(status) for status in statuses}


def json_body(shape_name: str) -> dict[str, Any]:
    """`openapi_extra=` for a route whose JSON body is a SageMaker request shape."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": MODEL.ref(shape_name)}}}
    }


def ok(shape_name: str, description: str = "Success") -> dict[str, Any]:
    """A success response whose JSON body is a SageMaker shape."""
    return {"description": description, "content": {"application/json": {"schema": MODEL.ref(shape_name)}}}


def job_name() -> dict[str, Any]:
    """`openapi_extra=` for a route whose `{name}` is a training job's name."""
    return parameter_schemas(name=MODEL.member("DescribeTrainingJobRequest", "TrainingJobName"))


def parameter_schemas(**schemas: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra=` documenting these parameters (path or query) with the given schemas; FastAPI
    knows only their Python types."""
    return {_PARAMETER_SCHEMAS: schemas}


def query_time(value: str, *, name: str) -> dt.datetime:
    """A query parameter documented as `EPOCH_OR_ISO_8601`, read as the document says."""
    try:
        parsed = parse_timestamp(float(value))
    except ValueError:
        parsed = parse_timestamp(value)
    if parsed is None:
        raise ValidationError(f"{name} must be epoch seconds or an ISO 8601 time, not {value[:64]!r}")
    return parsed


def install(app: FastAPI, *, open_paths: frozenset[str]) -> None:
    """Make `app.openapi()` return the finalized document (built once, as FastAPI caches it)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            app.openapi_schema = finalize(document, open_paths=open_paths)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finalize(document: dict[str, Any], *, open_paths: frozenset[str]) -> dict[str, Any]:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(MODEL.components)
    components.setdefault("Problem", Problem.model_json_schema(ref_template=REF_PREFIX + "{model}"))
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            _complete(operation, method=method, is_open=path in open_paths)
    return document


def _complete(operation: dict[str, Any], *, method: str, is_open: bool) -> None:
    schemas = operation.pop(_PARAMETER_SCHEMAS, {})
    for parameter in operation.get("parameters", []):
        if parameter["name"] in schemas:
            parameter["schema"] = schemas[parameter["name"]]
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for response in responses.values():
        for content in response.get("content", {}).values():
            if "$ref" in content.get("schema", {}):  # FastAPI titles even a schema we replaced
                content["schema"] = {"$ref": content["schema"]["$ref"]}
    takes_input = bool(operation.get("parameters")) or "requestBody" in operation
    if responses.pop("422", None) is not None or takes_input:
        responses.setdefault("400", _error(400))
    if not is_open:
        for status in _EDGE_STATUSES:
            responses.setdefault(str(status), _error(status))
        if "requestBody" in operation or method in ("put", "post"):
            responses.setdefault("413", _error(413))


def _error(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
    }
