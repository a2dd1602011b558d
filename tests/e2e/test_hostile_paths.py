"""Object keys with invalid UTF-8 or broken percent-escapes are refused (400 `InvalidURI`) on both the
REST and the S3 surface, through the real server: never decoded into U+FFFD, where different keys collide."""

from __future__ import annotations

import http.client
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from tests.support.server import Server
from tests.support.signing import signed_headers

pytestmark = pytest.mark.e2e

BROKEN_KEYS = ["bad-%ff", "bad-%c3%28", "bad-%zz", "bad-%", "bad-%f"]


def send(server: Server, method: str, path: str, *, service: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send `path` byte for byte (no client-side re-encoding), signed for `service`."""
    url = f"{server.url}{path}"
    headers = signed_headers(method=method, url=url, body=body, service=service)
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("key", BROKEN_KEYS)
def test_rest_refuses_keys_that_are_not_utf8_or_not_escaped(server: Server, key: str) -> None:
    for method in ("PUT", "GET"):
        status, body = send(server, method, f"/v1/objects/data/{key}", service="sagemaker", body=b"x")
        assert status == 400, body
        assert b'"code":"InvalidURI"' in body
    status, _ = send(server, "GET", "/v1/objects/data/bad-%ef%bf%bd", service="sagemaker")
    assert status == 404  # nothing was stored under U+FFFD either


@pytest.mark.parametrize("key", BROKEN_KEYS)
def test_s3_refuses_keys_that_are_not_utf8_or_not_escaped(server: Server, key: str) -> None:
    status, _ = send(server, "PUT", "/data", service="s3")
    assert status == 200
    for method in ("PUT", "GET"):
        status, body = send(server, method, f"/data/{key}", service="s3", body=b"x")
        assert status == 400, body
        assert ET.fromstring(body).findtext("Code") == "InvalidURI"


def test_valid_escapes_still_round_trip(server: Server) -> None:
    status, _ = send(server, "PUT", "/v1/objects/data/caf%C3%A9%20%2B%25", service="sagemaker", body=b"ok")
    assert status == 201
    status, body = send(server, "GET", "/data/caf%C3%A9%20%2B%25", service="s3")
    assert (status, body) == (200, b"ok")
