"""Downloads and uploads for curl and browsers: training-job artifacts and any object of the store.

Routes:

- `GET|HEAD /v1/training-jobs/{name}/model`: the job's `model.tar.gz`
  (`ModelArtifacts.S3ModelArtifacts`, i.e. `<S3OutputPath>/<job>/output/model.tar.gz`).
- `GET|HEAD /v1/training-jobs/{name}/output`: the job's `output.tar.gz` (`/opt/ml/output/data`), next to it.
  Both answer 404 for an unknown job, and 404 `NoSuchKey` for a job with no artifacts yet (they are uploaded
  when a job completes or stops; a failed job has none), or whose model was uploaded uncompressed
  (`CompressionType: NONE`: its files are objects under `.../output/model/`). Both add
  `Content-Disposition: attachment; filename="model.tar.gz"` (or `output.tar.gz`).
- `GET|HEAD /v1/objects/{bucket}/{key}`: any object (the key may contain `/`).
- `PUT /v1/objects/{bucket}/{key}`: stream the request body into the object (`curl -T file URL`). Unlike
  S3's PutObject, which answers NoSuchBucket, a missing bucket is created: plain HTTP clients have no
  CreateBucket. Answers 201 (new key) or 200 (replaced) with JSON `bucket, key, size, etag, sha256,
  last_modified`. `Content-Type`, `Content-MD5` and `x-amz-meta-*` are honoured as by S3; an
  `x-checksum-sha256: <hex>` request header is checked against the body (400 `BadDigest`, nothing stored).

Every download streams from disk with constant memory whatever the size, and sends `Content-Length`,
`ETag`, `Last-Modified`, `Accept-Ranges: bytes`, `X-Content-Type-Options: nosniff` and
`Content-Disposition: attachment` (a browser saves the object rather than rendering it on this origin).
`Range: bytes=a-b | a- | -n` (one range) answers 206 with `Content-Range`, an unsatisfiable one 416
(with `Content-Range: bytes */<size>`); `If-Range` (ETag or date) makes a resumed download start over when
the object changed. `If-Match`, `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` answer 412 or
304 as S3 does. Objects whose SHA-256 is known also carry `x-checksum-sha256: <hex>` and RFC 9530's
`Repr-Digest: sha-256=:<base64>:`, both for the whole object (also on 206 and HEAD), so a download can
be verified (`sha256sum`). The SHA-256 is computed once, while the bytes are written through this `PUT`
(or `put_with_sha256`), and kept in the object's metadata (`x-amz-meta-sha256`, bound to the ETag it was
computed for, so a later write that carries the old metadata along does not inherit a stale checksum).
Objects written otherwise (the S3 API) go without the header: it is never computed by reading an object
on a download. Errors are problem JSON; keys with `.`/`..` segments (`a/%2E%2E/b`) are refused with 400.

The Range, conditional-request, streaming and body-receiving code is the S3 API's (`app.api.s3`).
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from app.api.deps import CallerDep, JobsDep, StoreDep
from app.api.rest.documentation import errors, job_name, parameter_schemas
from app.api.rest.responses import JSON, problem
from app.api.s3 import body as s3_body
from app.api.s3 import errors as s3_errors
from app.api.s3 import responses as s3_responses
from app.api.s3.common import account_of, call, decoded_path, meta_from_headers
from app.auth.caller import Caller
from app.errors import NotFound, ServiceError
from app.jobs.service import TrainingJobService
from app.storage import artifact_layout, checksums, uris
from app.storage import errors as storage_errors
from app.storage.models import Digests, ObjectInfo, ObjectMeta
from app.storage.object_store import ObjectReader, ObjectStore
from app.wire.validate import validate

router = APIRouter(tags=["artifacts and objects"])

CHECKSUM_HEADER = "x-checksum-sha256"
# User-metadata entries (`x-amz-meta-*` on the S3 API) holding the SHA-256 and the ETag it belongs to.
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TOKEN_SAFE = re.compile(r"[^A-Za-z0-9!#$&+.^_`|~ -]")

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole object, streamed", "content": {"application/octet-stream": _BINARY}},
    206: {"description": "The requested byte range (`Content-Range`)"},
    304: {"description": "Not modified (`If-None-Match` / `If-Modified-Since`)"},
    412: {"description": "`If-Match` / `If-Unmodified-Since` failed"},
    416: {"description": "Range not satisfiable; `Content-Range: bytes */<size>`"},
}
_DOWNLOAD_RESPONSES.update(errors(404))
# Not required: an empty body makes an empty object, as on S3.
_UPLOAD_BODY = {"requestBody": {"required": False, "content": {"application/octet-stream": _BINARY}}}
# Addresses as the store's own rules have them (`uris`), so the document neither promises nor refuses more.
_ADDRESS = parameter_schemas(
    bucket={"type": "string", "pattern": uris.BUCKET_NAME_PATTERN},
    key={"type": "string", "maxLength": uris.MAX_KEY_BYTES, "pattern": uris.KEY_PATTERN},
)


# -- training-job artifacts ----------------------------------------------------------------------


@router.get(
    "/v1/training-jobs/{name}/model",
    summary="Download the job's model.tar.gz",
    responses=_DOWNLOAD_RESPONSES,
    openapi_extra=job_name(),
)
@router.head(
    "/v1/training-jobs/{name}/model",
    summary="Headers of the job's model.tar.gz",
    responses=_DOWNLOAD_RESPONSES,
    openapi_extra=job_name(),
)
async def job_model(
    request: Request, name: str, jobs: JobsDep, store: StoreDep, caller: CallerDep
) -> Response:
    """The job's `model.tar.gz` (`ModelArtifacts.S3ModelArtifacts`), as an attachment; 404 until it has one.
    Supports `Range`, `If-Range` and conditional requests; `x-checksum-sha256` when the SHA-256 is known."""
    return await _artifact(request, jobs, store, caller, name, artifact_layout.MODEL_TARBALL)


@router.get(
    "/v1/training-jobs/{name}/output",
    summary="Download the job's output.tar.gz",
    responses=_DOWNLOAD_RESPONSES,
    openapi_extra=job_name(),
)
@router.head(
    "/v1/training-jobs/{name}/output",
    summary="Headers of the job's output.tar.gz",
    responses=_DOWNLOAD_RESPONSES,
    openapi_extra=job_name(),
)
async def job_output(
    request: Request, name: str, jobs: JobsDep, store: StoreDep, caller: CallerDep
) -> Response:
    """The job's `output.tar.gz` (what it wrote to `/opt/ml/output/data`), as an attachment; 404 until the
    job has artifacts. Supports `Range`, `If-Range` and conditional requests."""
    return await _artifact(request, jobs, store, caller, name, artifact_layout.OUTPUT_TARBALL)


async def _artifact(
    request: Request, jobs: TrainingJobService, store: ObjectStore, caller: Caller, name: str, filename: str
) -> Response:
    uri = await call(artifact_uri, jobs, name, filename, caller=caller)
    with _refusals(str(uri)):
        reader = await call(store.open_object, uri.bucket, uri.key)
    return _download(request, reader, filename=filename, content_type="application/gzip")


def artifact_uri(jobs: TrainingJobService, name: str, filename: str, *, caller: Caller) -> uris.S3Uri:
    """Where one of the caller's jobs keeps its `model.tar.gz` or `output.tar.gz`; NotFound or NoSuchKey
    (404) if it has none, and NotFound for another account's job as for an unknown one."""
    params = validate("DescribeTrainingJob", {"TrainingJobName": name})
    try:
        job = jobs.describe(params["TrainingJobName"], caller=caller)
    except NotFound:
        raise NotFound(f"Training job {name!r} does not exist.") from None
    # Describe names the model's path from creation on; it holds something once the job has ended.
    model = job.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    if model is None or job["TrainingJobStatus"] not in _PACKAGED:
        raise storage_errors.NoSuchKey(_no_artifacts(job))
    if filename == artifact_layout.MODEL_TARBALL:
        if model.endswith("/"):
            raise storage_errors.NoSuchKey(_uncompressed(job["TrainingJobName"], model))
        return uris.parse_s3_uri(model)
    return artifact_layout.output_tarball(job["OutputDataConfig"]["S3OutputPath"], job["TrainingJobName"])


_PACKAGED = frozenset({"Completed", "Stopped"})


def _no_artifacts(job: dict[str, Any]) -> str:
    name, status = job["TrainingJobName"], job["TrainingJobStatus"]
    if status == "Failed":
        return f"Training job {name} failed, so it has no artifacts: {job.get('FailureReason', '')}".strip()
    return (
        f"Training job {name} has no artifacts yet (status {status}, {job['SecondaryStatus']}): "
        "they are uploaded when it completes or is stopped."
    )


def _uncompressed(name: str, model: str) -> str:
    return (
        f"Training job {name} uploaded its model uncompressed (CompressionType NONE): there is no "
        f"model.tar.gz; its files are the objects under {model}"
    )


# -- objects -------------------------------------------------------------------------------------


def _strict_path(request: Request) -> None:
    """Refuse (400 `InvalidURI`) a path with a broken escape or invalid UTF-8 before the key is used:
    Starlette's decoding would turn the bytes into U+FFFD, and different keys would name one object."""
    decoded_path(request.scope)


_STRICT_PATH = [Depends(_strict_path)]


@router.get(
    "/v1/objects/{bucket}/{key:path}",
    summary="Download an object",
    responses=_DOWNLOAD_RESPONSES,
    dependencies=_STRICT_PATH,
    openapi_extra=_ADDRESS,
)
@router.head(
    "/v1/objects/{bucket}/{key:path}",
    summary="Headers of an object",
    responses=_DOWNLOAD_RESPONSES,
    dependencies=_STRICT_PATH,
    openapi_extra=_ADDRESS,
)
async def get_object(request: Request, bucket: str, key: str, store: StoreDep) -> Response:
    """Stream an object, as an attachment named after the key's last segment. Supports `Range` (206, 416),
    `If-Range` and conditional requests; `x-checksum-sha256` when the object was uploaded through `PUT`."""
    with _refusals(f"s3://{bucket}/{key}"):
        await call(store.check_owner, bucket, account_of(request))
        reader = await call(store.open_object, bucket, key)
    return _download(request, reader, filename=key.rstrip("/").rpartition("/")[2] or bucket)


@router.put(
    "/v1/objects/{bucket}/{key:path}",
    summary="Upload an object from the request body (the bucket is created if missing)",
    openapi_extra=_UPLOAD_BODY | _ADDRESS,
    response_class=JSON,
    status_code=201,
    dependencies=_STRICT_PATH,
    responses={
        200: {"description": "The key existed and was replaced"},
        **errors(400),
    },
)
async def put_object(request: Request, bucket: str, key: str, store: StoreDep) -> Response:
    """Stream the body into the object (`curl -T FILE URL`); a missing bucket is created. Records the body's
    SHA-256, and checks it against an `x-checksum-sha256` request header if one is sent. 201 for a new key,
    200 for a replaced one."""
    claimed = _claimed_sha256(request.headers.get(CHECKSUM_HEADER))
    try:
        with _refusals(f"s3://{bucket}/{key}"):
            existed = await call(_prepare_put, store, bucket, key, account_of(request))
            info = await _receive(request, store, bucket, key, claimed)
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is listening; the writer has discarded the bytes
    sha256 = info.meta.user_metadata[checksums.SHA256_META]
    body = {
        "bucket": info.bucket,
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "sha256": sha256,
        "last_modified": info.last_modified,
    }
    headers = {
        "ETag": info.etag,
        CHECKSUM_HEADER: sha256,
        "Location": quote(f"/v1/objects/{bucket}/{key}"),
        **s3_responses.SSE,
    }
    return JSON(body, status_code=200 if existed else 201, headers=headers)


def _prepare_put(store: ObjectStore, bucket: str, key: str, owner: str) -> bool:
    """Check both names, create the bucket (for `owner`) if missing, refuse another account's bucket;
    whether the key exists already."""
    storage_errors.check_bucket(bucket)
    storage_errors.check_key(key)
    try:
        store.check_owner(bucket, owner)
    except storage_errors.NoSuchBucket:
        store.create_bucket(bucket, owner=owner)
        return False
    try:
        store.head_object(bucket, key)
    except storage_errors.NoSuchKey:
        return False
    return True


async def _receive(
    request: Request, store: ObjectStore, bucket: str, key: str, claimed: str | None
) -> ObjectInfo:
    spec = s3_body.body_spec(request.headers)
    given = meta_from_headers(request.headers)
    sealed = (checksums.SHA256_META, checksums.SHA256_ETAG_META)
    user = {k: v for k, v in given.user_metadata.items() if k not in sealed}
    meta = ObjectMeta(content_type=given.content_type, user_metadata=user, headers=given.headers)
    hashes = sorted({*spec.extra_hashes, "sha256"})
    with await call(store.open_writer, bucket, key, meta, extra_hashes=hashes) as writer:
        trailers = await s3_body.receive_into(request, spec, writer)
        digests = await call(writer.finish)
        s3_body.verify(spec, digests, trailers)
        _seal(user, digests, claimed)
        return await call(writer.commit)


def _seal(user: dict[str, str], digests: Digests, claimed: str | None) -> None:
    sha256 = checksums.seal(user, digests)
    if claimed is not None and claimed != sha256:
        raise s3_errors.bad_digest(CHECKSUM_HEADER)


def _claimed_sha256(header: str | None) -> str | None:
    if header is None:
        return None
    value = header.strip().lower()
    if not _HEX64.fullmatch(value):
        raise s3_errors.S3Error("InvalidDigest", f"{CHECKSUM_HEADER} must be 64 hex digits")
    return value


# -- one download --------------------------------------------------------------------------------


def _download(
    request: Request, reader: ObjectReader, *, filename: str, content_type: str | None = None
) -> Response:
    """The response for an open object; it owns the reader (closed here unless the body streams it)."""
    try:
        response = _download_response(request, reader, filename, content_type)
    except BaseException:
        reader.close()
        raise
    if not isinstance(response, s3_responses.ObjectBodyResponse):
        reader.close()
    return response


def _download_response(
    request: Request, reader: ObjectReader, filename: str, content_type: str | None
) -> Response:
    info = reader.info
    headers = _headers(info, filename, content_type)
    with _refusals(f"s3://{info.bucket}/{info.key}"):
        if s3_responses.not_modified(request.headers, info):
            return Response(status_code=304, headers=_validators(headers))
    try:
        byte_range = _byte_range(request, info)
    except s3_errors.S3Error as exc:  # parse_range refuses only unsatisfiable ranges
        response = problem(exc.http_status, exc.code, f"{exc.message}: {request.headers.get('range')}")
        response.headers["Content-Range"] = f"bytes */{info.size}"
        return response
    if byte_range is None:
        return s3_responses.ObjectBodyResponse(reader, 0, info.size, 200, headers)
    start, end = byte_range
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return s3_responses.ObjectBodyResponse(reader, start, end, 206, headers)


def _byte_range(request: Request, info: ObjectInfo) -> tuple[int, int] | None:
    """The range to send, or None for the whole object (no Range, or an `If-Range` that no longer holds)."""
    if_range = request.headers.get("if-range")
    if if_range is not None and not _if_range_holds(if_range.strip(), info):
        return None
    return s3_responses.parse_range(request.headers.get("range"), info.size)


def _if_range_holds(value: str, info: ObjectInfo) -> bool:
    """RFC 9110 §13.1.5: a strong ETag match, or exactly the Last-Modified date."""
    if value.startswith(("W/", '"')):
        return value == info.etag
    return value == s3_responses.http_date(info.last_modified)


def _headers(info: ObjectInfo, filename: str, content_type: str | None) -> dict[str, str]:
    headers = s3_responses.object_headers(info, with_checksum=False)
    headers["Content-Disposition"] = _attachment(filename)
    headers["X-Content-Type-Options"] = "nosniff"
    if content_type is not None:
        headers["Content-Type"] = content_type
    sha256 = checksums.stored_sha256(info)
    if sha256 is not None:
        headers[CHECKSUM_HEADER] = sha256
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode('ascii')}:"
    return headers


def _validators(headers: dict[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in ("ETag", "Last-Modified", "Accept-Ranges")}


def _attachment(filename: str) -> str:
    """RFC 6266: a quoted ASCII `filename`, plus `filename*` when the real name needs more than that."""
    fallback = _TOKEN_SAFE.sub("_", filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# -- plumbing ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _refusals(address: str) -> Iterator[None]:
    """Name the object in store and S3-protocol refusals (NoSuchKey, InvalidName, BadDigest, 412, ...):
    problem JSON has no `<Resource>` element to carry it, so the message does."""
    try:
        yield
    except ServiceError as exc:
        exc.message = f"{exc.message} ({address})"
        raise
