"""Errors of the object store: a branch of the service's error tree, with S3's codes and statuses."""

from __future__ import annotations

import logging

from app.errors import ServiceError
from app.storage import uris

logger = logging.getLogger(__name__)


class StorageError(ServiceError):
    """Base of every refusal by the object store."""

    code = "InternalError"
    http_status = 500


class NoSuchBucket(StorageError):
    code = "NoSuchBucket"
    http_status = 404


class NoSuchKey(StorageError):
    code = "NoSuchKey"
    http_status = 404


class NoSuchUpload(StorageError):
    code = "NoSuchUpload"
    http_status = 404


class BucketAlreadyOwnedByYou(StorageError):
    code = "BucketAlreadyOwnedByYou"
    http_status = 409


class BucketAlreadyExists(StorageError):
    """Bucket names are global: this one belongs to another account."""

    code = "BucketAlreadyExists"
    http_status = 409


class AccessDenied(StorageError):
    """The bucket belongs to another account."""

    code = "AccessDenied"
    http_status = 403


class CorruptObject(StorageError):
    """An object's stored bytes do not authenticate (corrupted, truncated or tampered with): never served.
    Clients see S3's InternalError; the details go to the log only."""

    code = "InternalError"
    http_status = 500


class BucketNotEmpty(StorageError):
    code = "BucketNotEmpty"
    http_status = 409


class InvalidName(StorageError):
    """A bucket name or key that `app.storage.uris` refuses; `code` is copied from the URI error."""

    http_status = 400

    def __init__(self, message: str, code: str, **details: str) -> None:
        super().__init__(message, **details)
        self.code = code


class InvalidPart(StorageError):
    code = "InvalidPart"
    http_status = 400


class InvalidPartOrder(StorageError):
    code = "InvalidPartOrder"
    http_status = 400


class EntityTooSmall(StorageError):
    code = "EntityTooSmall"
    http_status = 400


class InvalidRange(StorageError):
    code = "InvalidRange"
    http_status = 416


class InvalidArgument(StorageError):
    code = "InvalidArgument"
    http_status = 400


def check_bucket(name: str) -> str:
    """`uris.check_bucket_name`, raising the store's error type."""
    try:
        return uris.check_bucket_name(name)
    except uris.UriError as exc:
        raise InvalidName(str(exc), exc.code, BucketName=name) from exc


def check_key(key: str) -> str:
    """`uris.check_key`, raising the store's error type."""
    try:
        return uris.check_key(key)
    except uris.UriError as exc:
        raise InvalidName(str(exc), exc.code, Key=key[:1024]) from exc


def corrupt(bucket: str, key: str, reason: str) -> CorruptObject:
    """The error for stored bytes that do not authenticate; what failed goes to the log, not the client."""
    logger.error("object does not authenticate", extra={"bucket": bucket, "key": key, "reason": reason})
    return CorruptObject("We encountered an internal error. Please try again.")
