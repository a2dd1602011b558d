"""HTTPS: `sagelite serve --certfile --keyfile` with a self-signed certificate, driven by boto3 (`verify=`
the certificate) and the AWS CLI (`--ca-bundle`), as the README shows them."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import SSLError

from tests.support.server import Server, running_server
from tests.support.tls import TlsFiles, self_signed

pytestmark = pytest.mark.e2e

MIB = 1 << 20
AWS = Path(sys.executable).with_name("aws")
KEYS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory, certificate: TlsFiles) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("https") / "data", tls=certificate) as server:
        yield server


def client(service: str, url: str, verify: str | bool) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", verify=verify, **KEYS)


def test_boto3_calls_sagemaker_over_https(https: Server, certificate: TlsFiles) -> None:
    assert https.url.startswith("https://")
    for url in (https.url, https.url.replace("127.0.0.1", "localhost")):  # both names are in the certificate
        listed = client("sagemaker", url, str(certificate.certfile)).list_training_jobs()
        assert listed["TrainingJobSummaries"] == [] and listed["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_boto3_puts_with_an_unsigned_payload_and_a_trailing_checksum_over_https(
    https: Server, certificate: TlsFiles
) -> None:
    s3 = client("s3", https.url, str(certificate.certfile))
    sent: list[tuple[dict[str, str], bytes]] = []

    def capture(request: Any, **_: Any) -> None:
        if request.method == "PUT" and "/upload/" in request.url:
            body = request.body.read()
            request.body.seek(0)  # botocore's aws-chunked wrapper starts again from the first chunk
            sent.append(({k.lower(): _text(v) for k, v in request.headers.items()}, body))

    s3.meta.events.register("before-send.s3.PutObject", capture)
    s3.create_bucket(Bucket="tls-data")
    data = os.urandom(2 * MIB + 7)  # three aws-chunked chunks of at most 1 MiB
    put = s3.put_object(Bucket="tls-data", Key="upload/blob.bin", Body=data)

    ((headers, body),) = sent
    crc32 = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert headers["content-encoding"] == "aws-chunked" and headers["transfer-encoding"] == "chunked"
    assert headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert headers["x-amz-decoded-content-length"] == str(len(data))
    assert body.startswith(b"100000\r\n") and body.endswith(
        f"0\r\nx-amz-checksum-crc32:{crc32}\r\n\r\n".encode()
    )
    assert put["ChecksumCRC32"] == crc32

    got = s3.get_object(Bucket="tls-data", Key="upload/blob.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == crc32
    assert "aws-chunked" not in got.get("ContentEncoding", "")


def test_the_certificate_is_what_clients_verify(https: Server, tmp_path: Path) -> None:
    with pytest.raises(SSLError):
        client("sagemaker", https.url, True).list_training_jobs()  # the system's CAs do not know it
    stranger = self_signed(tmp_path / "stranger")
    with pytest.raises(SSLError):
        client("sagemaker", https.url, str(stranger.certfile)).list_training_jobs()
    with pytest.raises(httpx.TransportError):
        httpx.get(https.url.replace("https://", "http://") + "/healthz")  # no plain HTTP on that port


def test_the_aws_cli_with_the_certificate_as_its_ca_bundle(
    https: Server, certificate: TlsFiles, tmp_path: Path
) -> None:
    empty = tmp_path / "aws-config"
    empty.write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_MAX_ATTEMPTS": "1",
    }

    def aws(*args: str, ca_bundle: Path | None = certificate.certfile) -> subprocess.CompletedProcess[str]:
        command = [str(AWS), *args, "--endpoint-url", https.url]
        command += ["--ca-bundle", str(ca_bundle)] if ca_bundle else []
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)

    listed = aws("sagemaker", "list-training-jobs", "--output", "json")
    assert listed.returncode == 0 and '"TrainingJobSummaries"' in listed.stdout, listed.stderr
    local = tmp_path / "train.csv"
    local.write_text("label,x\n1,2\n")
    assert aws("s3", "mb", "s3://tls-cli").returncode == 0
    copied = aws("s3", "cp", str(local), "s3://tls-cli/data/train.csv")
    assert copied.returncode == 0, copied.stderr
    back = tmp_path / "back.csv"
    assert aws("s3", "cp", "s3://tls-cli/data/train.csv", str(back)).returncode == 0
    assert back.read_text() == local.read_text()

    refused = aws("sagemaker", "list-training-jobs", ca_bundle=None)
    assert refused.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
