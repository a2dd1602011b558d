"""S3's XML: documents we render (namespace 2006-03-01) and the few request bodies we parse."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from app.api.s3 import errors
from app.errors import ServiceError
from app.storage.models import BucketInfo, ListPage, ObjectInfo, PartsPage, UploadInfo

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
OWNER_NAME = "sagelite"
MAX_DELETE_KEYS = 1000


def document(root: ET.Element) -> bytes:
    return _DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")


def root(tag: str) -> ET.Element:
    return ET.Element(tag, xmlns=NS)


def add(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = _text(text)
    return child


def add_all(parent: ET.Element, fields: Mapping[str, object]) -> None:
    """Add one child per field, skipping fields that are None (S3 omits absent elements)."""
    for tag, value in fields.items():
        if value is not None:
            add(parent, tag, value)


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error(exc: ServiceError, request_id: str, resource: str) -> bytes:
    top = ET.Element("Error")  # S3's error documents carry no namespace
    add_all(top, {"Code": exc.code, "Message": exc.message, **exc.details})
    add_all(top, {"Resource": resource, "RequestId": request_id, "HostId": request_id})
    return document(top)


def owner(parent: ET.Element, tag: str = "Owner") -> None:
    add_all(add(parent, tag), {"ID": OWNER_ID, "DisplayName": OWNER_NAME})


def list_buckets(buckets: Iterable[BucketInfo], prefix: str | None) -> bytes:
    top = root("ListAllMyBucketsResult")
    owner(top)
    container = add(top, "Buckets")
    for bucket in buckets:
        add_all(add(container, "Bucket"), {"Name": bucket.name, "CreationDate": timestamp(bucket.created)})
    add_all(top, {"Prefix": prefix})
    return document(top)


@dataclass(frozen=True)
class ListEcho:
    """The request's parameters that ListObjects(V2) echoes back, and how to encode keys."""

    bucket: str
    prefix: str
    delimiter: str
    max_keys: int
    url_encode: bool
    fetch_owner: bool

    def encode(self, value: str) -> str:
        return quote(value, safe="/") if self.url_encode else value


def list_objects_v2(echo: ListEcho, page: ListPage, tokens: Mapping[str, str | None]) -> bytes:
    """`tokens`: ContinuationToken, NextContinuationToken and StartAfter (already encoded if needed)."""
    top = _list_head(echo)
    add_all(top, {"KeyCount": len(page.objects) + len(page.common_prefixes), **tokens})
    add(top, "IsTruncated", page.is_truncated)
    _list_entries(top, echo, page)
    return document(top)


def list_objects_v1(echo: ListEcho, page: ListPage, marker: str) -> bytes:
    top = _list_head(echo)
    add(top, "Marker", echo.encode(marker))
    next_marker = page.last if page.is_truncated and echo.delimiter else None
    add_all(top, {"NextMarker": None if next_marker is None else echo.encode(next_marker)})
    add(top, "IsTruncated", page.is_truncated)
    _list_entries(top, echo, page)
    return document(top)


def _list_head(echo: ListEcho) -> ET.Element:
    top = root("ListBucketResult")
    add_all(top, {"Name": echo.bucket, "Prefix": echo.encode(echo.prefix), "MaxKeys": echo.max_keys})
    add_all(top, {"Delimiter": echo.encode(echo.delimiter) if echo.delimiter else None})
    add_all(top, {"EncodingType": "url" if echo.url_encode else None})
    return top


def _list_entries(top: ET.Element, echo: ListEcho, page: ListPage) -> None:
    for obj in page.objects:
        entry = add(top, "Contents")
        add_all(entry, {"Key": echo.encode(obj.key), "LastModified": timestamp(obj.last_modified)})
        add_all(entry, {"ETag": obj.etag, "Size": obj.size, "StorageClass": "STANDARD"})
        if echo.fetch_owner:
            owner(entry)
    for prefix in page.common_prefixes:
        add(add(top, "CommonPrefixes"), "Prefix", echo.encode(prefix))


def copy_result(tag: str, info_etag: str, modified: datetime) -> bytes:
    top = root(tag)
    add_all(top, {"LastModified": timestamp(modified), "ETag": info_etag})
    return document(top)


def initiate_upload(upload: UploadInfo) -> bytes:
    top = root("InitiateMultipartUploadResult")
    add_all(top, {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id})
    return document(top)


def complete_upload(location: str, info: ObjectInfo) -> bytes:
    top = root("CompleteMultipartUploadResult")
    add_all(top, {"Location": location, "Bucket": info.bucket, "Key": info.key, "ETag": info.etag})
    return document(top)


def list_parts(page: PartsPage, marker: int, max_parts: int) -> bytes:
    top = root("ListPartsResult")
    upload = page.upload
    add_all(top, {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id})
    owner(top, "Initiator")
    owner(top)
    add_all(top, {"StorageClass": "STANDARD", "PartNumberMarker": marker})
    add_all(top, {"NextPartNumberMarker": page.next_marker, "MaxParts": max_parts})
    add(top, "IsTruncated", page.is_truncated)
    for part in page.parts:
        entry = add(top, "Part")
        add_all(entry, {"PartNumber": part.part_number, "LastModified": timestamp(part.last_modified)})
        add_all(entry, {"ETag": part.etag, "Size": part.size, "ChecksumCRC32": part.crc32_b64})
    return document(top)


def list_uploads(bucket: str, uploads: list[UploadInfo], max_uploads: int, truncated: bool) -> bytes:
    top = root("ListMultipartUploadsResult")
    add_all(top, {"Bucket": bucket, "KeyMarker": "", "UploadIdMarker": "", "MaxUploads": max_uploads})
    add(top, "IsTruncated", truncated)
    for upload in uploads:
        entry = add(top, "Upload")
        add_all(entry, {"Key": upload.key, "UploadId": upload.upload_id})
        owner(entry, "Initiator")
        owner(entry)
        add_all(entry, {"StorageClass": "STANDARD", "Initiated": timestamp(upload.initiated)})
    return document(top)


def delete_result(deleted: list[str], failed: list[tuple[str, ServiceError]], quiet: bool) -> bytes:
    top = root("DeleteResult")
    for key in [] if quiet else deleted:
        add(add(top, "Deleted"), "Key", key)
    for key, exc in failed:
        add_all(add(top, "Error"), {"Key": key, "Code": exc.code, "Message": exc.message})
    return document(top)


def location(region: str) -> bytes:
    top = root("LocationConstraint")
    top.text = None if region == "us-east-1" else region  # S3 answers an empty element for us-east-1
    return document(top)


# -- request bodies ------------------------------------------------------------------------------


def parse(body: bytes) -> ET.Element:
    """Parse a small request document; DTDs are refused outright (no entity expansion games)."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise errors.malformed_xml()
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        raise errors.malformed_xml() from None


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if local(child.tag) == name]


def child_text(element: ET.Element, name: str) -> str | None:
    found = children(element, name)
    return (found[0].text or "") if found else None


def parse_delete(body: bytes) -> tuple[list[str], bool]:
    """DeleteObjects: the keys and the Quiet flag."""
    top = parse(body)
    objects = children(top, "Object")
    keys = [child_text(obj, "Key") for obj in objects]
    if local(top.tag) != "Delete" or not objects or len(objects) > MAX_DELETE_KEYS or None in keys:
        raise errors.malformed_xml()
    quiet = (child_text(top, "Quiet") or "false").strip().lower() == "true"
    return [key for key in keys if key is not None], quiet


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    """CompleteMultipartUpload: (part number, ETag) pairs in the order given."""
    top = parse(body)
    parts = children(top, "Part")
    if local(top.tag) != "CompleteMultipartUpload" or not parts:
        raise errors.malformed_xml()
    return [_part(part) for part in parts]


def _part(part: ET.Element) -> tuple[int, str]:
    number, etag = child_text(part, "PartNumber"), child_text(part, "ETag")
    if number is None or etag is None or not number.strip().isdigit():
        raise errors.malformed_xml()
    return int(number), etag.strip()


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
