"""`Writer`: the one way bytes enter the store, as an object or as a part of a multipart upload."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

from app.storage.blobs import BlobWriter, ReadAt
from app.storage.models import Digests
from app.storage.types import Buffer

T = TypeVar("T")


class Writer(Generic[T]):
    """Stream bytes in, then `commit()` to make them visible at once, or `abort()` to leave no trace.

    Used as a context manager, leaving the block without a commit (normally or by an exception)
    aborts. Until the commit nothing is visible to readers; the commit is a rename plus one SQLite
    transaction, so a reader sees the previous object or the new one, never a torn mix.
    """

    def __init__(self, blob: BlobWriter, publish: Callable[[Path, Digests], T]) -> None:
        self._blob = blob
        self._publish = publish
        self._digests: Digests | None = None
        self._done = False

    @property
    def size(self) -> int:
        return self._blob.size

    def write(self, data: Buffer) -> None:
        self._blob.write(data)

    def write_many(self, chunks: Sequence[Buffer]) -> None:
        self._blob.write_many(chunks)

    def copy_from(self, source: ReadAt, offset: int, count: int) -> None:
        self._blob.copy_from(source, offset, count)

    def finish(self) -> Digests:
        """Flush the bytes to disk and return their digests (to check against the client's) before commit."""
        if self._digests is None:
            self._digests = self._blob.finish()
        return self._digests

    def commit(self) -> T:
        if self._done:
            raise RuntimeError("writer already committed or aborted")
        try:
            digests = self.finish()
            result = self._publish(self._blob.path, digests)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return result

    def abort(self) -> None:
        self._done = True
        self._blob.discard()

    def __enter__(self) -> Writer[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._done:
            self.abort()
