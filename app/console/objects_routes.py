"""Objects: the caller's buckets, a bucket's keys a prefix ("folder") at a time, downloads, and uploads.

An upload is the file's bytes as the body of a `PUT` sent by the page's script with the session's CSRF
token in its header (no multipart parsing), streamed into the store as the REST upload is."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.console.guard import ActingDep, services_of
from app.console.rendering import page
from app.console.routers import router
from app.storage.models import ListPage
from app.storage.object_store import ObjectReader, ObjectStore

_PAGE = 200


@router.get("/objects")
async def buckets_page(request: Request, acting: ActingDep) -> Response:
    store = services_of(request).store
    buckets = await run_in_threadpool(lambda: store.list_buckets(owner=acting.caller.account_id))
    return page(request, "buckets.html", acting, buckets=buckets)


@router.get("/buckets/{bucket}")
async def bucket_page(request: Request, bucket: str, acting: ActingDep) -> Response:
    store = services_of(request).store
    prefix = request.query_params.get("prefix", "")
    after = request.query_params.get("after", "")

    def listing() -> ListPage:
        store.check_owner(bucket, acting.caller.account_id)
        return store.list_objects(bucket, prefix=prefix, delimiter="/", after=after, max_keys=_PAGE)

    found = await run_in_threadpool(listing)
    parents = _parents(prefix)
    return page(request, "bucket.html", acting, bucket=bucket, prefix=prefix, listing=found, parents=parents)


@router.get("/buckets/{bucket}/object")
async def download(request: Request, bucket: str, key: str, acting: ActingDep) -> Response:
    store = services_of(request).store
    reader = await run_in_threadpool(_open, store, bucket, key, acting.caller.account_id)
    filename = key.rstrip("/").rpartition("/")[2] or bucket
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(filename)}",
        "Content-Length": str(reader.info.size),
    }
    media = reader.info.meta.content_type
    return StreamingResponse(_chunks(reader), media_type=media, headers=headers)


@router.put("/buckets/{bucket}/object")
async def upload(request: Request, bucket: str, key: str, acting: ActingDep) -> Response:
    store = services_of(request).store
    await run_in_threadpool(store.check_owner, bucket, acting.caller.account_id)
    writer = await run_in_threadpool(store.open_writer, bucket, key)
    with writer:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(writer.write, chunk)
        info = await run_in_threadpool(writer.commit)
    return JSONResponse({"bucket": bucket, "key": info.key, "size": info.size}, status_code=201)


def _open(store: ObjectStore, bucket: str, key: str, owner: str) -> ObjectReader:
    store.check_owner(bucket, owner)
    return store.open_object(bucket, key)


def _chunks(reader: ObjectReader) -> Iterator[bytes]:
    with reader:
        yield from reader.iter_range()


def _parents(prefix: str) -> list[tuple[str, str]]:
    """Breadcrumbs: (label, prefix) for each folder above and including `prefix`."""
    parts = [p for p in prefix.split("/") if p]
    return [(part, "/".join(parts[: i + 1]) + "/") for i, part in enumerate(parts)]


def _quote(name: str) -> str:
    return quote(name, safe="")
