"""ListObjects paging: a range scan of the index that jumps over each common prefix in one step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.storage.models import ListPage, ObjectInfo
from app.storage.object_index import ObjectRow

_BATCH = 1000

# scan(after, prefix, below, limit): rows with key > after and prefix <= key < below, in key order.
Scan = Callable[[bytes, bytes, bytes, int], list[ObjectRow]]


@dataclass(frozen=True)
class ListQuery:
    """Keys after `after` (exclusive) that start with `prefix`; keys that contain `delimiter` after the
    prefix roll up into one common prefix each, counted once toward max-keys.

    `after` may be a key or a common prefix returned on the previous page: a common prefix at or before
    it is not repeated, so the last entry of a page is always a valid cursor for the next one.
    """

    prefix: str = ""
    delimiter: str = ""
    after: str = ""


def list_page(
    scan: Scan, to_info: Callable[[ObjectRow], ObjectInfo], query: ListQuery, max_keys: int
) -> ListPage:
    prefix, delimiter, after = query.prefix.encode(), query.delimiter.encode(), query.after.encode()
    below = prefix + b"\xff"  # no UTF-8 byte is 0xFF: every key that starts with P sorts below P + 0xFF
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    last: str | None = None
    cursor = after
    while len(objects) + len(prefixes) < max_keys:
        rows = scan(cursor, prefix, below, min(max_keys - len(objects) - len(prefixes), _BATCH))
        if not rows:
            return ListPage(objects, prefixes, False, last)
        for row in rows:
            common = _common_prefix(row.key, prefix, delimiter)
            if common is None:
                objects.append(to_info(row))
                cursor, last = row.key, row.key.decode()
                continue
            if common > after:
                prefixes.append(common.decode())
                last = common.decode()
            cursor = common + b"\xff"  # skip every other key under this common prefix
            break
    return ListPage(objects, prefixes, bool(max_keys and scan(cursor, prefix, below, 1)), last)


def _common_prefix(key: bytes, prefix: bytes, delimiter: bytes) -> bytes | None:
    if not delimiter:
        return None
    index = key.find(delimiter, len(prefix))
    return None if index < 0 else key[: index + len(delimiter)]
