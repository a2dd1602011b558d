"""The S3-compatible API (path-style): `create_s3_app(store)` and the `is_s3_request(scope)` routing rule."""

from app.api.s3.detect import is_s3_request
from app.api.s3.routing import create_s3_app

__all__ = ["create_s3_app", "is_s3_request"]
