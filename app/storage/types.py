"""Small shared type aliases of the storage package."""

from __future__ import annotations

Buffer = bytes | bytearray | memoryview
