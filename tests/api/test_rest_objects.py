"""REST downloads and uploads: /v1/objects/{bucket}/{key} and /v1/training-jobs/{name}/model|output."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.rest import objects
from app.jobs import repository
from app.jobs.lifecycle import RunFacts
from app.jobs.status import Secondary, Status
from app.services import Services
from app.storage import checksums, errors
from app.storage.models import ObjectMeta
from app.storage.object_store import ObjectStore
from app.wire.validate import validate
from tests.conftest import create_request
from tests.support.callers import OTHER, ROOT, client_as

ACCOUNT = "123456789012"  # the default account, which requests act as
OBJECTS = "/v1/objects"
JOBS = "/v1/training-jobs"
DATA = os.urandom((3 << 20) + 12345)  # crosses the 1 MiB streaming chunks, ends mid-chunk


def services(api: TestClient) -> Services:
    found: Services = api.app.state.services  # type: ignore[attr-defined]
    return found


def store(api: TestClient) -> ObjectStore:
    return services(api).store


def problem(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    detail: str = body["detail"]
    return detail


@pytest.fixture
def plain(api: TestClient) -> bytes:
    """An object written straight into the store (as the S3 API does): no SHA-256 recorded."""
    store(api).create_bucket("data", owner=ACCOUNT)
    store(api).put_object("data", "dir/plain.bin", DATA)
    return DATA


# -- downloads -----------------------------------------------------------------------------------


def test_full_download_is_byte_identical_with_headers(api: TestClient, plain: bytes) -> None:
    info = store(api).head_object("data", "dir/plain.bin")
    response = api.get(f"{OBJECTS}/data/dir/plain.bin")
    assert response.status_code == 200
    assert response.content == plain
    headers = response.headers
    assert headers["content-length"] == str(len(plain))
    assert headers["etag"] == info.etag == f'"{hashlib.md5(plain).hexdigest()}"'
    modified = email.utils.parsedate_to_datetime(headers["last-modified"])
    assert modified == info.last_modified.replace(microsecond=0)
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-disposition"] == 'attachment; filename="plain.bin"'
    assert headers["x-content-type-options"] == "nosniff"
    assert objects.CHECKSUM_HEADER not in headers  # never computed by reading the object on a download


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=10-19", 10, 20),
        ("bytes=1048570-1048590", 1048570, 1048591),  # across a chunk boundary
        ("bytes=3145000-", 3145000, len(DATA)),
        ("bytes=-500", len(DATA) - 500, len(DATA)),
        ("bytes=-99999999", 0, len(DATA)),  # a suffix longer than the object is all of it
        ("bytes=5-99999999", 5, len(DATA)),  # so is an end past the last byte
    ],
)
def test_range_answers_206(api: TestClient, plain: bytes, range_header: str, start: int, end: int) -> None:
    response = api.get(f"{OBJECTS}/data/dir/plain.bin", headers={"Range": range_header})
    assert response.status_code == 206
    assert response.content == plain[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(plain)}"
    assert response.headers["content-length"] == str(end - start)


@pytest.mark.parametrize(
    "range_header", [f"bytes={len(DATA)}-", f"bytes={len(DATA) + 7}-{len(DATA) + 9}", "bytes=-0"]
)
def test_unsatisfiable_range_is_416(api: TestClient, plain: bytes, range_header: str) -> None:
    response = api.get(f"{OBJECTS}/data/dir/plain.bin", headers={"Range": range_header})
    detail = problem(response, 416, "InvalidRange")
    assert range_header in detail
    assert response.headers["content-range"] == f"bytes */{len(plain)}"


def test_head_sends_the_headers_and_no_body(api: TestClient, plain: bytes) -> None:
    response = api.head(f"{OBJECTS}/data/dir/plain.bin")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(plain))
    assert response.headers["etag"] == store(api).head_object("data", "dir/plain.bin").etag
    ranged = api.head(f"{OBJECTS}/data/dir/plain.bin", headers={"Range": "bytes=-10"})
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "10"


def test_conditional_requests(api: TestClient, plain: bytes) -> None:
    url = f"{OBJECTS}/data/dir/plain.bin"
    etag = api.head(url).headers["etag"]
    modified = api.head(url).headers["last-modified"]
    not_modified = api.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
    assert api.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    problem(api.get(url, headers={"If-Match": '"other"'}), 412, "PreconditionFailed")
    assert api.get(url, headers={"If-Match": etag}).status_code == 200
    # If-Range: resume only while the object is unchanged, else start over with the whole object.
    assert api.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    assert api.get(url, headers={"Range": "bytes=0-9", "If-Range": modified}).status_code == 206
    restart = api.get(url, headers={"Range": "bytes=0-9", "If-Range": '"changed"'})
    assert restart.status_code == 200 and restart.content == plain


def test_missing_objects_are_404(api: TestClient, plain: bytes) -> None:
    assert "s3://data/nope" in problem(api.get(f"{OBJECTS}/data/nope"), 404, "NoSuchKey")
    problem(api.get(f"{OBJECTS}/no-such-bucket/key"), 404, "NoSuchBucket")
    assert api.head(f"{OBJECTS}/data/nope").status_code == 404


@pytest.mark.parametrize("path", ["data/a/%2E%2E/x", "data/..%2Fetc/passwd", "data/%2E%2E", "data/a/%2E/b"])
def test_dot_segments_are_refused(api: TestClient, path: str) -> None:
    store(api).create_bucket("data", owner=ACCOUNT)
    problem(api.get(f"{OBJECTS}/{path}"), 400, "InvalidArgument")
    problem(api.put(f"{OBJECTS}/{path}", content=b"x"), 400, "InvalidArgument")
    assert store(api).list_objects("data").objects == []


def test_invalid_bucket_name_is_400(api: TestClient) -> None:
    problem(api.put(f"{OBJECTS}/Bad_Bucket/key", content=b"x"), 400, "InvalidBucketName")


# -- uploads -------------------------------------------------------------------------------------


def test_put_then_get_round_trip_with_checksum(api: TestClient) -> None:
    data = os.urandom((9 << 20) + 7)
    sha256 = hashlib.sha256(data).hexdigest()
    url = f"{OBJECTS}/uploads/nested/dir/blob.bin"
    created = api.put(url, content=data, headers={"Content-Type": "application/x-thing"})
    assert created.status_code == 201, created.text  # the bucket did not exist: created for plain HTTP
    body = created.json()
    assert body["bucket"] == "uploads" and body["key"] == "nested/dir/blob.bin" and body["size"] == len(data)
    assert body["sha256"] == sha256 == created.headers[objects.CHECKSUM_HEADER]
    assert body["etag"] == created.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'

    response = api.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers[objects.CHECKSUM_HEADER] == sha256
    assert (
        response.headers["repr-digest"]
        == f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"
    )
    assert response.headers["content-type"] == "application/x-thing"
    ranged = api.get(url, headers={"Range": "bytes=-4"})
    assert ranged.content == data[-4:] and ranged.headers[objects.CHECKSUM_HEADER] == sha256  # whole object's

    replaced = api.put(url, content=b"small")
    assert replaced.status_code == 200
    assert api.get(url).headers[objects.CHECKSUM_HEADER] == hashlib.sha256(b"small").hexdigest()


def test_put_streams_a_chunked_body(api: TestClient) -> None:
    chunks = [os.urandom(1 << 20) for _ in range(3)]
    response = api.put(f"{OBJECTS}/uploads/chunked", content=iter(chunks))
    assert response.status_code == 201, response.text
    assert store(api).read_object("uploads", "chunked") == b"".join(chunks)


def test_put_checks_a_claimed_sha256(api: TestClient) -> None:
    url = f"{OBJECTS}/uploads/checked"
    good = hashlib.sha256(b"payload").hexdigest()
    assert api.put(url, content=b"payload", headers={objects.CHECKSUM_HEADER: good}).status_code == 201
    problem(api.put(url, content=b"tampered", headers={objects.CHECKSUM_HEADER: good}), 400, "BadDigest")
    assert store(api).read_object("uploads", "checked") == b"payload"  # the refused body left no trace
    problem(api.put(url, content=b"x", headers={objects.CHECKSUM_HEADER: "zz"}), 400, "InvalidDigest")
    problem(
        api.put(url, content=b"x", headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()}),
        400,
        "BadDigest",
    )


def test_stale_checksum_metadata_is_not_served(api: TestClient) -> None:
    """Rewriting an object with the old metadata carried along (a common boto3 idiom) must not keep the old
    checksum: it is bound to the ETag it was computed for."""
    url = f"{OBJECTS}/uploads/k"
    api.put(url, content=b"first")
    old = store(api).head_object("uploads", "k").meta
    store(api).put_object("uploads", "k", b"second", ObjectMeta(user_metadata=dict(old.user_metadata)))
    assert objects.CHECKSUM_HEADER not in api.get(url).headers


def test_put_of_a_client_checksum_metadata_is_overwritten(api: TestClient) -> None:
    url = f"{OBJECTS}/uploads/k"
    api.put(url, content=b"data", headers={"x-amz-meta-sha256": "0" * 64, "x-amz-meta-owner": "me"})
    info = store(api).head_object("uploads", "k")
    assert info.meta.user_metadata["sha256"] == hashlib.sha256(b"data").hexdigest()
    assert info.meta.user_metadata["owner"] == "me"


def test_uploads_and_downloads_say_aes256(api: TestClient) -> None:
    put = api.put(f"{OBJECTS}/sse/k", content=b"at rest, encrypted")
    assert put.headers["x-amz-server-side-encryption"] == "AES256"
    got = api.get(f"{OBJECTS}/sse/k")
    assert got.content == b"at rest, encrypted"
    assert got.headers["x-amz-server-side-encryption"] == "AES256"


def _new_blob(api: TestClient, data: bytes) -> Path:
    blobs = services(api).settings.data_dir / "objects" / "blobs"
    before = set(blobs.rglob("*"))
    store(api).create_bucket("rot", owner=ACCOUNT)
    store(api).put_object("rot", "k", data)
    (blob,) = [p for p in set(blobs.rglob("*")) - before if p.is_file()]
    return blob


def test_a_truncated_blob_is_a_500_problem(api: TestClient) -> None:
    blob = _new_blob(api, b"x" * 5000)
    os.truncate(blob, 100)
    detail = problem(api.get(f"{OBJECTS}/rot/k"), 500, "InternalError")
    assert "internal error" in detail


def test_corruption_found_mid_stream_never_completes_the_response(api: TestClient) -> None:
    blob = _new_blob(api, os.urandom(3 << 20))
    raw = bytearray(blob.read_bytes())
    raw[-100] ^= 0x01  # in the last segment, read after the response has started
    blob.write_bytes(bytes(raw))
    with pytest.raises(
        Exception
    ) as raised:  # out of the app after the start: the server drops the connection
        api.get(f"{OBJECTS}/rot/k")
    assert isinstance(raised.value, errors.CorruptObject) or isinstance(
        raised.value.__cause__, errors.CorruptObject
    )


# -- training-job artifacts ----------------------------------------------------------------------


def insert_job(api: TestClient, name: str, **overrides: Any) -> None:
    services(api).jobs.create(validate("CreateTrainingJob", create_request(name, **overrides)), caller=ROOT)


def publish_artifacts(api: TestClient, name: str, model: bytes, output: bytes) -> None:
    """What the runtime does when a job finishes: both tarballs, then ModelArtifacts on the job."""
    the_store = store(api)
    the_store.create_bucket("bucket", owner=ACCOUNT)
    base = f"output/{name}/output/"
    checksums.put_with_sha256(the_store, "bucket", base + "model.tar.gz", [model])
    checksums.put_with_sha256(the_store, "bucket", base + "output.tar.gz", [output])
    complete(api, name, model_artifacts=f"s3://bucket/{base}model.tar.gz")


def complete(api: TestClient, name: str, *, model_artifacts: str) -> None:
    """End the job as its run would, with the artifacts it uploaded."""
    the_services = services(api)
    with the_services.sessions() as session:
        job = repository.get(session, account_id=ROOT.account_id, name=name)
        assert job is not None
    the_services.lifecycle.finish(
        job.id,
        status=Status.COMPLETED,
        secondary=Secondary.COMPLETED,
        failure_reason=None,
        facts=RunFacts(model_artifacts=model_artifacts),
        also=lambda _: None,
    )


def test_job_artifacts_download(api: TestClient) -> None:
    insert_job(api, "job-1")
    model, output = os.urandom((2 << 20) + 3), os.urandom(1000)
    publish_artifacts(api, "job-1", model, output)
    for route, data in (("model", model), ("output", output)):
        response = api.get(f"{JOBS}/job-1/{route}")
        assert response.status_code == 200, response.text
        assert response.content == data
        assert response.headers["content-disposition"] == f'attachment; filename="{route}.tar.gz"'
        assert response.headers["content-type"] == "application/gzip"
        assert response.headers[objects.CHECKSUM_HEADER] == hashlib.sha256(data).hexdigest()
        assert response.headers["content-length"] == str(len(data))
        assert response.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
        assert "last-modified" in response.headers and response.headers["accept-ranges"] == "bytes"
    ranged = api.get(f"{JOBS}/job-1/model", headers={"Range": "bytes=-100"})
    assert ranged.status_code == 206 and ranged.content == model[-100:]
    head = api.head(f"{JOBS}/job-1/model")
    assert (
        head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(model))
    )


def test_unknown_job_is_404(api: TestClient) -> None:
    assert "nope" in problem(api.get(f"{JOBS}/nope/model"), 404, "ValidationException")
    problem(api.get(f"{JOBS}/nope/output"), 404, "ValidationException")


def test_another_accounts_artifacts_are_404_as_an_unknown_jobs(api: TestClient) -> None:
    insert_job(api, "job-5")
    publish_artifacts(api, "job-5", b"model", b"output")
    other = client_as(api, OTHER)
    for route in ("model", "output"):
        assert api.get(f"{JOBS}/job-5/{route}").status_code == 200
        detail = problem(other.get(f"{JOBS}/job-5/{route}"), 404, "ValidationException")
        assert detail == "Training job 'job-5' does not exist."


def test_job_without_artifacts_yet_is_404_saying_so(api: TestClient) -> None:
    insert_job(api, "job-2")
    store(api).create_bucket("bucket", owner=ACCOUNT)
    store(api).put_object("bucket", "output/job-2/output/output.tar.gz", b"left by an older job-2")
    for route in ("model", "output"):
        detail = problem(api.get(f"{JOBS}/job-2/{route}"), 404, "NoSuchKey")
        assert "no artifacts yet" in detail and "InProgress" in detail


def test_uncompressed_model_has_no_tarball(api: TestClient) -> None:
    insert_job(api, "job-3")
    complete(api, "job-3", model_artifacts="s3://bucket/output/job-3/output/model/")
    assert "CompressionType NONE" in problem(api.get(f"{JOBS}/job-3/model"), 404, "NoSuchKey")


def test_artifact_deleted_from_the_store_is_404(api: TestClient) -> None:
    insert_job(api, "job-4")
    publish_artifacts(api, "job-4", b"model", b"output")
    store(api).delete_object("bucket", "output/job-4/output/model.tar.gz")
    detail = problem(api.get(f"{JOBS}/job-4/model"), 404, "NoSuchKey")
    assert "s3://bucket/output/job-4/output/model.tar.gz" in detail


def test_routes_are_documented(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {"get", "head"} <= set(paths[f"{JOBS}/{{name}}/model"])
    assert {"get", "head", "put"} <= set(paths[f"{OBJECTS}/{{bucket}}/{{key}}"])
