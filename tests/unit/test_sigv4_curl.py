"""curl's own SigV4 signer (`curl --aws-sigv4 "aws:amz:REGION:SERVICE"`), captured by a tiny local socket
server and verified: what users type at a terminal against the REST routes and the S3 API."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass

import pytest

from app.auth.caller import Caller
from app.auth.sigv4 import KeyRecord, verify_request
from app.auth.sigv4_errors import AuthFailure, Reason
from tests.support.sigv4_oracle import Keys

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

KEY = KeyRecord("AKIDCURLEXAMPLE", "curl/secret+key", Caller("123456789012", "AKIDCURLEXAMPLE"))


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


def capture(*curl_args: str, path: str, secret: str = KEY.secret_access_key) -> Captured:
    """Run curl against a one-shot local server and return the request it sent."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        received: list[bytes] = []
        thread = threading.Thread(target=_answer_once, args=(server, received))
        thread.start()
        command = ["curl", "-s", "--max-time", "10", "--user", f"{KEY.access_key_id}:{secret}"]
        subprocess.run([*command, *curl_args, f"http://127.0.0.1:{port}{path}"], check=True, timeout=20)
        thread.join(timeout=10)
    head, _, body = received[0].partition(b"\r\n\r\n")
    request_line, *lines = head.split(b"\r\n")
    method, target, _ = request_line.split(b" ")
    raw_path, _, query = target.partition(b"?")
    headers = [
        (name.strip().lower(), value.strip()) for name, _, value in (line.partition(b":") for line in lines)
    ]
    return Captured(method.decode(), raw_path.decode(), query, headers, body)


def _answer_once(server: socket.socket, received: list[bytes]) -> None:
    connection, _ = server.accept()
    with connection:
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            body += connection.recv(65536)
        received.append(head + b"\r\n\r\n" + body)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def verify(request: Captured, **changes: object) -> str:
    kwargs: dict[str, object] = {
        "method": request.method,
        "raw_path": request.path,
        "query_string": request.query,
        "headers": request.headers,
        "body_sha256": hashlib.sha256(request.body).hexdigest(),
    }
    kwargs.update(changes)
    verified = verify_request(**kwargs, keys=Keys(KEY), now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    return verified.service


@pytest.mark.parametrize(
    "path", ["/v1/training-jobs?max_results=5&a=x%2Fy", "/v1/objects/bucket/a%20b/c.txt?z=1&b=%20"]
)
def test_curl_signs_a_rest_get_that_verifies(path: str) -> None:
    # curl 7.x signs the path and the query as sent (no second encoding, no sorting); later releases
    # sign the canonical forms botocore does. Both verify.
    request = capture("--aws-sigv4", "aws:amz:us-east-1:sagemaker", path=path)
    assert verify(request) == "sagemaker"
    with pytest.raises(AuthFailure) as raised:
        verify(request, query_string=request.query + b"&more=1")
    assert raised.value.reason is Reason.MISMATCH
    with pytest.raises(AuthFailure) as raised:
        verify(request, raw_path=request.path + "x")
    assert raised.value.reason is Reason.MISMATCH


def test_curl_signs_a_rest_post_with_a_body_that_verifies() -> None:
    request = capture(
        "--aws-sigv4",
        "aws:amz:us-east-1:sagemaker",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        '{"TrainingJobName": "job-1"}',
        path="/v1/training-jobs",
    )
    assert verify(request) == "sagemaker"
    with pytest.raises(AuthFailure) as raised:
        verify(request, body_sha256=hashlib.sha256(b"{}").hexdigest())
    assert raised.value.reason is Reason.MISMATCH


def test_curl_signs_an_s3_put_that_verifies() -> None:
    request = capture(
        "--aws-sigv4", "aws:amz:us-east-1:s3", "-X", "PUT", "--data-binary", "hello", path="/bucket/a%20b.txt"
    )
    assert verify(request) == "s3"


def test_curl_with_the_wrong_secret_does_not_verify() -> None:
    request = capture("--aws-sigv4", "aws:amz:us-east-1:sagemaker", path="/v1/training-jobs", secret="wrong")
    with pytest.raises(AuthFailure) as raised:
        verify(request)
    assert raised.value.reason is Reason.MISMATCH
