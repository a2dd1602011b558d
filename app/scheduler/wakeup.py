"""The scheduler's doorbell: creates, stops and finished runs ring it; the scheduler's loop waits on it.

Built first and handed to each of them, so none of them needs a reference to the scheduler itself.
"""

from __future__ import annotations

import threading


class Wakeup:
    def __init__(self) -> None:
        self._event = threading.Event()

    def hint(self) -> None:
        """New work may be waiting, or capacity came back."""
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Block until hinted or `timeout` passes; True if hinted. The hint stays set until `clear`."""
        return self._event.wait(timeout)

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()
