"""Incomplete multipart uploads expire, as under an S3 lifecycle rule with AbortIncompleteMultipartUpload:
an upload initiated longer ago than the configured age is aborted and its parts' disk comes back.

A thread owned here sweeps at start-up and then every `interval_seconds`; `sweep` is what tests drive,
with a fake clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from app.clock import Clock
from app.storage.multipart import MultipartUploads

logger = logging.getLogger(__name__)


class UploadExpiry:
    def __init__(
        self,
        *,
        uploads: MultipartUploads,
        clock: Clock,
        max_age: dt.timedelta,
        interval_seconds: float = 3600.0,
    ) -> None:
        self._uploads = uploads
        self._clock = clock
        self._max_age = max_age
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> int:
        """Abort the uploads initiated before now minus the maximum age; returns how many."""
        cutoff = self._clock() - self._max_age
        expired = self._uploads.expire(initiated_before_ms=int(cutoff.timestamp() * 1000))
        if expired:
            logger.info("incomplete multipart uploads expired", extra={"uploads": expired})
        return expired

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="upload-expiry", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception:  # a failed sweep is retried at the next interval; the server goes on
                logger.exception("expiring incomplete multipart uploads failed")
            if self._stop.wait(self._interval):
                return
