"""One error tree, rendered once per surface: AWS JSON, S3's XML and problem JSON read the same names."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET

import pytest
from starlette.requests import Request

from app.api.aws import protocol
from app.api.rest import responses
from app.api.s3 import errors as s3_errors
from app.api.s3 import xmlio
from app.errors import NotFound, ResourceInUse, ServiceError, ValidationError
from app.storage import errors as storage_errors


@pytest.mark.parametrize(
    "error",
    [storage_errors.NoSuchKey("gone", Key="k"), s3_errors.malformed_xml(), NotFound()],
)
def test_every_refusal_is_a_service_error(error: Exception) -> None:
    assert isinstance(error, ServiceError)


def test_the_rest_status_is_the_http_status_unless_a_class_says_otherwise() -> None:
    assert ValidationError("no").rest_status == 400
    assert storage_errors.BucketNotEmpty("full").rest_status == 409
    assert s3_errors.S3Error("InvalidRange", "no", 416).rest_status == 416
    # SageMaker answers an unknown job with 400 ValidationException; a REST client expects 404.
    assert (NotFound().http_status, NotFound().rest_status) == (400, 404)
    assert (ResourceInUse("busy").http_status, ResourceInUse("busy").rest_status) == (400, 409)


def test_aws_json_carries_code_and_message_with_the_http_status() -> None:
    response = protocol.error_response(NotFound(), "rid")
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"
    assert json.loads(bytes(response.body)) == {
        "__type": "ValidationException",
        "message": "Requested resource not found.",
    }


def test_s3_xml_adds_the_details() -> None:
    error = storage_errors.NoSuchKey("The specified key does not exist.", Key="a/b")
    document = ET.fromstring(xmlio.error(error, "rid", "/bucket/a/b"))
    assert {child.tag: child.text for child in document} == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "Key": "a/b",
        "Resource": "/bucket/a/b",
        "RequestId": "rid",
        "HostId": "rid",
    }


def test_problem_json_uses_the_rest_status() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    response = asyncio.run(responses.service_error(request, NotFound("Training job 'x' does not exist.")))
    assert response.status_code == 404
    assert json.loads(bytes(response.body)) == {
        "type": "about:blank",
        "title": "NotFound",
        "status": 404,
        "detail": "Training job 'x' does not exist.",
        "code": "ValidationException",
    }
