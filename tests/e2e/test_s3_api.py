"""The S3 API over a real socket, driven by the real boto3 client and the real AWS CLI.

A uvicorn server runs the whole application (so every request passes the authentication at its edge) in
a thread on a free loopback port for the module; raw requests are signed for `s3` as the root key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import os
import socket
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from botocore.exceptions import ClientError
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from app.api.s3 import is_s3_request
from app.api.s3.chunked import AwsChunkedDecoder, ChunkedError
from app.client import sigv4
from app.client.auth import SigV4Auth
from app.client.sigv4 import Credentials
from app.config import Settings
from app.main import create_app
from tests.support.jobs import s3_client
from tests.support.polling import wait_until
from tests.support.server import DUMMY_CREDENTIALS, ROOT_KEY, ROOT_SECRET

pytestmark = pytest.mark.e2e

MIB = 1 << 20
S3_AUTH = SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), service="s3")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("s3") / "data"


@pytest.fixture(scope="module")
def store_root(data_dir: Path) -> Path:
    return data_dir / "objects"


@pytest.fixture(scope="module")
def endpoint(data_dir: Path) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = create_app(Settings(data_dir=data_dir))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="uvicorn to start", interval=0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def s3(endpoint: str) -> Any:
    return s3_client(endpoint)


_buckets = iter(range(1_000_000))


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"e2e-{next(_buckets)}"
    s3.create_bucket(Bucket=name)
    return name


def error_of(call: Callable[[], object]) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def s3_multipart_etag(data: bytes, part_size: int) -> str:
    digests = b"".join(hashlib.md5(data[i : i + part_size]).digest() for i in range(0, len(data), part_size))
    return f'"{hashlib.md5(digests).hexdigest()}-{-(-len(data) // part_size)}"'


# -- buckets -------------------------------------------------------------------------------------


def test_bucket_lifecycle_and_errors(s3: Any, bucket: str) -> None:
    s3.create_bucket(Bucket="life-cycle")
    assert "life-cycle" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket="life-cycle")["ResponseMetadata"]["HTTPStatusCode"] == 200
    again = s3.create_bucket(Bucket="life-cycle")  # one's own bucket, again: 200, as S3 in us-east-1
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.put_object(Bucket="life-cycle", Key="k", Body=b"x")
    assert error_of(lambda: s3.delete_bucket(Bucket="life-cycle")) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket="life-cycle", Key="k")
    s3.delete_bucket(Bucket="life-cycle")
    assert error_of(lambda: s3.head_bucket(Bucket="life-cycle")) == ("404", 404)
    assert error_of(lambda: s3.list_objects_v2(Bucket="life-cycle")) == ("NoSuchBucket", 404)
    assert error_of(lambda: s3.create_bucket(Bucket="bad_name")) == ("InvalidBucketName", 400)
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None


# -- objects -------------------------------------------------------------------------------------


def test_put_get_head_with_metadata_and_checksums(s3: Any, bucket: str) -> None:
    body = b"label,x\n1,0.5\n"
    put = s3.put_object(
        Bucket=bucket, Key="train/data.csv", Body=body, ContentType="text/csv", Metadata={"a": "b"}
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert put["ChecksumCRC32"] == crc
    got = s3.get_object(Bucket=bucket, Key="train/data.csv", ChecksumMode="ENABLED")
    assert got["Body"].read() == body  # botocore validated the CRC32 we returned
    assert (got["ContentType"], got["Metadata"], got["ChecksumCRC32"]) == ("text/csv", {"a": "b"}, crc)
    head = s3.head_object(Bucket=bucket, Key="train/data.csv")
    assert (head["ContentLength"], head["ETag"]) == (len(body), put["ETag"])


def test_large_upload_is_multipart_with_s3_etag(s3: Any, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(9 * MIB)
    source, dest = tmp_path / "big.bin", tmp_path / "back.bin"
    source.write_bytes(data)
    s3.upload_file(str(source), bucket, "models/big.bin")  # > 8 MB: CreateMultipartUpload + 2 parts
    head = s3.head_object(Bucket=bucket, Key="models/big.bin")
    assert head["ETag"] == s3_multipart_etag(data, 8 * MIB)
    s3.download_file(bucket, "models/big.bin", str(dest))  # ranged GETs in parallel
    assert dest.read_bytes() == data


def test_list_with_prefix_delimiter_and_pagination(s3: Any, bucket: str) -> None:
    keys = ["a/1.txt", "a/2.txt", "a/b/3.txt", "c.txt", "d/e/f.txt", "sp ace+plus%.txt", "ü/日本.txt"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["c.txt", "sp ace+plus%.txt"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "d/", "ü/"]
    under_a = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in under_a["Contents"]] == ["a/1.txt", "a/2.txt"]
    assert [p["Prefix"] for p in under_a["CommonPrefixes"]] == ["a/b/"]
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    )
    assert len(pages) == 4
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == sorted(keys, key=str.encode)
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="c.txt", MaxKeys=1)
    assert ([o["Key"] for o in after["Contents"]], after["IsTruncated"]) == (["d/e/f.txt"], True)
    v1 = list(
        s3.get_paginator("list_objects").paginate(
            Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}
        )
    )
    listed = [o["Key"] for p in v1 for o in p.get("Contents", [])] + [
        c["Prefix"] for p in v1 for c in p.get("CommonPrefixes", [])
    ]
    assert sorted(listed) == sorted(["c.txt", "sp ace+plus%.txt", "a/", "d/", "ü/"])


def test_ranged_and_conditional_gets(s3: Any, bucket: str) -> None:
    body = bytes(range(256)) * 4
    etag = s3.put_object(Bucket=bucket, Key="r", Body=body)["ETag"]
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert (part["Body"].read(), part["ContentRange"]) == (body[10:20], "bytes 10-19/1024")
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")["Body"].read() == body[-3:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=1000-")["Body"].read() == body[1000:]
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="r", Range="bytes=5000-")) == (
        "InvalidRange",
        416,
    )
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="r", IfNoneMatch=etag)) == ("304", 304)
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="r", IfModifiedSince=future)) == ("304", 304)
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="r", IfMatch='"nope"')) == (
        "PreconditionFailed",
        412,
    )
    assert s3.get_object(Bucket=bucket, Key="r", IfMatch=etag)["Body"].read() == body


def test_copy_delete_and_delete_objects(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"v": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    s3.copy_object(
        Bucket=bucket,
        Key="dst2",
        CopySource=f"{bucket}/src",
        Metadata={"v": "2"},
        MetadataDirective="REPLACE",
    )
    assert s3.head_object(Bucket=bucket, Key="dst")["Metadata"] == {"v": "1"}
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"v": "2"}
    assert error_of(lambda: s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")) == (
        "InvalidRequest",
        400,
    )
    s3.delete_object(Bucket=bucket, Key="src")
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="src")) == ("NoSuchKey", 404)
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"payload"
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "dst"}, {"Key": "dst2"}, {"Key": "x"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["dst", "dst2", "x"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_key_errors(s3: Any, bucket: str, endpoint: str) -> None:
    assert error_of(lambda: s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")) == (
        "KeyTooLongError",
        400,
    )
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="missing")) == ("NoSuchKey", 404)
    assert error_of(lambda: s3.get_object(Bucket="no-such-bucket", Key="k")) == ("NoSuchBucket", 404)
    for path in ("a/%2E%2E/%2E%2E/escape", "%2E%2E/escape", "a%00b"):
        response = httpx.put(f"{endpoint}/{bucket}/{path}", content=b"x", auth=S3_AUTH)
        assert response.status_code == 400
        assert b"<Code>InvalidArgument</Code>" in response.content
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_presigned_get_is_recognised_and_served(s3: Any, bucket: str, endpoint: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.txt"})
    query = url.split("?", 1)[1].encode()
    assert is_s3_request({"type": "http", "headers": [], "query_string": query})
    assert httpx.get(url).content == b"hello"


# -- multipart -----------------------------------------------------------------------------------


def test_multipart_by_hand(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentType="application/gzip")[
        "UploadId"
    ]
    parts = [os.urandom(5 * MIB), os.urandom(1000)]
    etags = [
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=n, Body=p)["ETag"]
        for n, p in enumerate(parts, 1)
    ]
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, 5 * MIB), (2, 1000)]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload_id]
    wrong = {"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]}
    assert error_of(
        lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload=wrong
        )
    ) == ("InvalidPart", 400)
    done = {"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]}
    result = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload=done)
    assert result["ETag"] == s3_multipart_etag(b"".join(parts), 5 * MIB)
    assert s3.head_object(Bucket=bucket, Key="mp")["ContentType"] == "application/gzip"
    assert error_of(lambda: s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)) == (
        "NoSuchUpload",
        404,
    )
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
    assert error_of(lambda: s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)) == (
        "NoSuchUpload",
        404,
    )


def test_s3_to_s3_copy_of_a_large_object_uses_upload_part_copy(s3: Any, bucket: str) -> None:
    data = os.urandom(9 * MIB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "orig")
    s3.copy({"Bucket": bucket, "Key": "orig"}, bucket, "copy")  # s3transfer: multipart + UploadPartCopy
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == data


# -- aws-chunked request bodies ------------------------------------------------------------------


def _force_trailing_checksums(s3: Any) -> Callable[[], None]:
    """botocore sends aws-chunked bodies with a trailing CRC32 only over TLS; ask for it over HTTP too."""

    def use_trailer(params: dict[str, Any], **_: Any) -> None:
        params["context"]["checksum"]["request_algorithm"]["in"] = "trailer"

    for operation in ("PutObject", "UploadPart"):
        s3.meta.events.register(f"before-call.s3.{operation}", use_trailer)
    return lambda: [
        s3.meta.events.unregister(f"before-call.s3.{op}", use_trailer) for op in ("PutObject", "UploadPart")
    ]


def test_boto3_aws_chunked_uploads(s3: Any, bucket: str) -> None:
    restore = _force_trailing_checksums(s3)
    try:
        body = os.urandom(3 * MIB + 17)
        put = s3.put_object(Bucket=bucket, Key="chunked", Body=body, ContentEncoding="gzip")
        big = os.urandom(9 * MIB)
        s3.upload_fileobj(io.BytesIO(big), bucket, "chunked-mp")
    finally:
        restore()
    assert put["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert (got["Body"].read(), got["ContentEncoding"]) == (body, "gzip")  # aws-chunked is not stored
    assert s3.get_object(Bucket=bucket, Key="chunked-mp")["Body"].read() == big


def _chunked_headers(decoded_length: int, sha256: str) -> dict[str, str]:
    return {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": sha256,
        "x-amz-decoded-content-length": str(decoded_length),
    }


def test_signed_aws_chunked_upload(endpoint: str, s3: Any, bucket: str) -> None:
    data = os.urandom(200_000)
    url = f"{endpoint}/{bucket}/signed"
    headers, wire = _signed_chunked_upload(url, [data[:65536], data[65536:]])
    response = httpx.put(url, content=wire, headers=headers)
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket=bucket, Key="signed")["Body"].read() == data


def test_a_tampered_signed_chunk_stores_nothing(endpoint: str, s3: Any, bucket: str) -> None:
    data = os.urandom(100_000)
    url = f"{endpoint}/{bucket}/tampered"
    headers, wire = _signed_chunked_upload(url, [data[:65536], data[65536:]])
    flipped = wire.index(data[70_000:70_016])
    tampered = wire[:flipped] + bytes([wire[flipped] ^ 1]) + wire[flipped + 1 :]
    response = httpx.put(url, content=tampered, headers=headers)
    assert (response.status_code, b"<Code>SignatureDoesNotMatch</Code>" in response.content) == (403, True)
    assert error_of(lambda: s3.head_object(Bucket=bucket, Key="tampered")) == ("404", 404)


def _signed_chunked_upload(url: str, chunks: list[bytes]) -> tuple[dict[str, str], bytes]:
    """Headers and aws-chunked body of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload, every chunk signed
    in the chain that starts at the request's own signature."""
    now = dt.datetime.now(dt.UTC)
    headers = _chunked_headers(sum(map(len, chunks)), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    headers |= sigv4.sign(
        method="PUT",
        url=url,
        headers=headers,
        payload_sha256=headers["X-Amz-Content-SHA256"],
        credentials=Credentials(ROOT_KEY, ROOT_SECRET),
        region="us-east-1",
        service="s3",
        now=now,
    )
    stamp = headers["X-Amz-Date"]
    scope = f"{stamp[:8]}/us-east-1/s3/aws4_request"
    key = sigv4.signing_key(ROOT_SECRET, stamp[:8], "us-east-1", "s3")
    previous = headers["Authorization"].rpartition("Signature=")[2]
    wire = b""
    for chunk in [*chunks, b""]:
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                stamp,
                scope,
                previous,
                sigv4.EMPTY_SHA256,
                hashlib.sha256(chunk).hexdigest(),
            ]
        )
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        wire += b"%x;chunk-signature=%s\r\n%s\r\n" % (len(chunk), previous.encode(), chunk)
    return headers, wire


def test_bad_or_truncated_aws_chunked_bodies_store_nothing(endpoint: str, s3: Any, bucket: str) -> None:
    data = b"x" * 1000
    wrapped = AwsChunkedWrapper(
        io.BytesIO(data), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32"
    )
    wire = wrapped.read()
    headers = _chunked_headers(len(data), "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    lying = wire.rpartition(b"x-amz-checksum-crc32:")[0] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    bad = httpx.put(f"{endpoint}/{bucket}/bad", content=lying, headers=headers, auth=S3_AUTH)
    assert (bad.status_code, b"<Code>BadDigest</Code>" in bad.content) == (400, True)
    cut = httpx.put(f"{endpoint}/{bucket}/cut", content=wire[: len(wire) // 2], headers=headers, auth=S3_AUTH)
    assert (cut.status_code, b"<Code>IncompleteBody</Code>" in cut.content) == (400, True)
    good = httpx.put(f"{endpoint}/{bucket}/good", content=wire, headers=headers, auth=S3_AUTH)
    assert good.status_code == 200
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["good"]


def test_decoder_handles_any_split_of_the_stream() -> None:
    data = os.urandom(5000)
    wire = AwsChunkedWrapper(
        io.BytesIO(data), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32", chunk_size=1024
    ).read()
    for step in (1, 2, 7, 1000, len(wire)):
        decoder = AwsChunkedDecoder()
        out = b"".join(bytes(p) for i in range(0, len(wire), step) for p in decoder.feed(wire[i : i + step]))
        decoder.finish()
        assert out == data
        assert (
            decoder.trailers["x-amz-checksum-crc32"]
            == base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        )
    with pytest.raises(ChunkedError):
        AwsChunkedDecoder().feed(b"zz\r\n")
    unfinished = AwsChunkedDecoder()
    unfinished.feed(wire[:100])
    with pytest.raises(ChunkedError):
        unfinished.finish()


# -- disconnects ---------------------------------------------------------------------------------


def test_client_disconnect_mid_upload_leaves_nothing(
    endpoint: str, s3: Any, store_root: Path, bucket: str
) -> None:
    def temp_files() -> list[Path]:
        return [p for p in (store_root / "tmp").rglob("*") if p.is_file()]

    host, port = endpoint.removeprefix("http://").split(":")
    signature = sigv4.sign(
        method="PUT",
        url=f"{endpoint}/{bucket}/half",
        headers={},
        payload_sha256=sigv4.UNSIGNED_PAYLOAD,
        credentials=Credentials(ROOT_KEY, ROOT_SECRET),
        region="us-east-1",
        service="s3",
        now=dt.datetime.now(dt.UTC),
    )
    signed = "".join(f"{name}: {value}\r\n" for name, value in signature.items())
    with socket.create_connection((host, int(port))) as sock:
        head = (
            f"PUT /{bucket}/half HTTP/1.1\r\nHost: {host}:{port}\r\n{signed}Content-Length: {8 * MIB}\r\n\r\n"
        )
        sock.sendall(head.encode() + os.urandom(2 * MIB))
        wait_until(temp_files, what="the server to start writing the upload", interval=0.01)
    wait_until(temp_files, until=lambda files: not files, what="the half-written temp file to be discarded")
    assert error_of(lambda: s3.head_object(Bucket=bucket, Key="half")) == ("404", 404)


# -- routing -------------------------------------------------------------------------------------


def _scope(headers: dict[str, str], query: str = "") -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "headers": raw, "query_string": query.encode()}


def test_is_s3_request_reads_the_credential_scope() -> None:
    s3_auth = (
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
    )
    assert is_s3_request(_scope({"Authorization": s3_auth}))
    assert not is_s3_request(_scope({"Authorization": s3_auth.replace("/s3/", "/sagemaker/")}))
    assert is_s3_request(_scope({"Authorization": "AWS AKID:signature"}))
    assert is_s3_request(
        _scope({}, "X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=1")
    )
    assert not is_s3_request(_scope({}, "X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fsts%2Faws4_request"))
    assert not is_s3_request(_scope({"X-Amz-Target": "SageMaker.ListTrainingJobs"}))
    assert not is_s3_request({"type": "lifespan"})


# -- the AWS CLI ---------------------------------------------------------------------------------


def test_aws_cli_cp_ls_sync_rm(endpoint: str, bucket: str, tmp_path: Path) -> None:
    empty = tmp_path / "aws-config"
    empty.write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        **DUMMY_CREDENTIALS,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
    }
    aws = Path(sys.executable).with_name("aws")

    def cli(*args: str) -> str:
        command = [str(aws), "s3", *args, "--endpoint-url", endpoint]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    local = tmp_path / "dataset"
    (local / "nested").mkdir(parents=True)
    (local / "train.csv").write_text("a,b\n1,2\n")
    (local / "nested" / "more.csv").write_text("a,b\n3,4\n")
    (local / "big.bin").write_bytes(os.urandom(9 * MIB))
    cli("cp", str(local / "train.csv"), f"s3://{bucket}/single/train.csv")
    cli("sync", str(local), f"s3://{bucket}/data/")
    assert bucket in cli("ls")
    listing = cli("ls", f"s3://{bucket}/data/")
    assert "PRE nested/" in listing and "train.csv" in listing
    recursive = cli("ls", f"s3://{bucket}/", "--recursive")
    assert all(k in recursive for k in ("single/train.csv", "data/big.bin", "data/nested/more.csv"))
    back = tmp_path / "back"
    cli("sync", f"s3://{bucket}/data/", str(back))
    assert (back / "big.bin").read_bytes() == (local / "big.bin").read_bytes()
    assert (back / "nested" / "more.csv").read_text() == "a,b\n3,4\n"
    cli("rm", f"s3://{bucket}/", "--recursive")
    assert cli("ls", f"s3://{bucket}/", "--recursive").strip() == ""


# -- encryption at rest ----------------------------------------------------------------------------


def test_responses_about_object_bytes_say_aes256(s3: Any, bucket: str) -> None:
    def sse(response: dict[str, Any]) -> str:
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        return str(headers.get("x-amz-server-side-encryption"))

    data = os.urandom(5 * MIB)
    assert sse(s3.put_object(Bucket=bucket, Key="k", Body=data)) == "AES256"
    assert sse(s3.get_object(Bucket=bucket, Key="k")) == "AES256"
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    assert sse(s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"})) == "AES256"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    assert sse(upload) == "AES256"
    upload_id = upload["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=data)
    assert sse(part) == "AES256"
    copied = s3.upload_part_copy(
        Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=2, CopySource={"Bucket": bucket, "Key": "k"}
    )
    assert sse(copied) == "AES256"
    parts = [
        {"PartNumber": 1, "ETag": part["ETag"]},
        {"PartNumber": 2, "ETag": copied["CopyPartResult"]["ETag"]},
    ]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    assert sse(done) == "AES256"
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == data + data


def _new_blob(store_root: Path, write: Callable[[], object]) -> Path:
    before = set((store_root / "blobs").rglob("*"))
    write()
    (blob,) = [p for p in set((store_root / "blobs").rglob("*")) - before if p.is_file()]
    return blob


def test_a_truncated_blob_answers_internal_error(s3: Any, bucket: str, store_root: Path) -> None:
    blob = _new_blob(store_root, lambda: s3.put_object(Bucket=bucket, Key="cut", Body=b"x" * 5000))
    os.truncate(blob, blob.stat().st_size - 1)
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="cut")) == ("InternalError", 500)


def test_corruption_found_mid_stream_aborts_the_response(
    s3: Any, bucket: str, store_root: Path, endpoint: str
) -> None:
    data = os.urandom(3 * MIB)
    blob = _new_blob(store_root, lambda: s3.put_object(Bucket=bucket, Key="rot", Body=data))
    raw = bytearray(blob.read_bytes())
    raw[len(raw) - MIB] ^= 0x01  # inside the last segment: the first two are sent before it is read
    blob.write_bytes(bytes(raw))
    received = bytearray()
    with (
        pytest.raises(httpx.HTTPError),
        httpx.stream("GET", f"{endpoint}/{bucket}/rot", timeout=30, auth=S3_AUTH) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
    assert len(received) < len(data)
    assert data.startswith(bytes(received))  # what was sent had authenticated
