"""A run reads and writes only its account's buckets.

A job whose channel, code, checkpoint or output bucket belongs to another account fails as on AWS, where
the job's role has no access there: `ClientError: An error occurred (AccessDenied) when calling the
GetObject operation: Access Denied`. So no account squats on another's bucket name through a job, and no
byte of another account's data reaches a VM. A bucket that does not exist yet is not refused here: reading
it fails with its own error, and writing creates it for the job's account.
"""

from __future__ import annotations

from app.storage import errors as storage_errors
from app.storage import uris
from app.storage.object_store import ObjectStore

READ = "GetObject"
WRITE = "PutObject"


class AccessDenied(Exception):
    """The run touched a bucket of another account; the message is the job's `ClientError:` reason."""


class BucketAccess:
    def __init__(self, *, store: ObjectStore, account_id: str) -> None:
        self._store = store
        self._account_id = account_id
        self._allowed: set[str] = set()  # buckets already found to be the account's

    def require(self, bucket: str, *, operation: str) -> None:
        """AccessDenied unless the account owns `bucket` (or no one does yet)."""
        if bucket in self._allowed:
            return
        try:
            self._store.check_owner(bucket, self._account_id)
        except storage_errors.NoSuchBucket:
            return
        except storage_errors.AccessDenied:
            raise AccessDenied(
                f"An error occurred (AccessDenied) when calling the {operation} operation: Access Denied"
            ) from None
        self._allowed.add(bucket)

    def require_uri(self, uri: str, *, operation: str) -> None:
        """`require` for the bucket of an `s3://` URI; other URIs are left to whoever reads them."""
        if not uri.startswith("s3://"):
            return
        try:
            bucket = uris.parse_s3_uri(uri).bucket
        except uris.UriError:
            return
        self.require(bucket, operation=operation)
