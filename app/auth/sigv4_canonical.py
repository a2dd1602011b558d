"""The canonical request of a received request, built from its bytes as they arrived.

The canonical URI comes from `app.client.sigv4.canonical_uri` (the client signs with the same function).
The query is decoded and re-encoded strictly (RFC 3986 unreserved characters stay, everything else is
`%XX`), then sorted by key and value, as AWS does whatever encoding the client chose. Header values are
decoded as Latin-1 (the bytes HTTP carries, as botocore's `http.client` writes them), trimmed, inner
whitespace collapsed, repeated headers joined with commas.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote, unquote_to_bytes

from app.client import sigv4 as client_sigv4

ALGORITHM = client_sigv4.ALGORITHM
_UNRESERVED = "-_.~"

Headers = Mapping[str, list[str]]


def header_map(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    """Lowercased name → its values in the order received."""
    found: dict[str, list[str]] = {}
    for name, value in raw:
        found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return found


def query_pairs(raw: bytes) -> list[tuple[bytes, bytes]]:
    """The decoded `key=value` pairs of a raw query string (`+` stays a plus, as AWS reads it)."""
    pairs = []
    for part in raw.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            pairs.append((unquote_to_bytes(key), unquote_to_bytes(value)))
    return pairs


def canonical_query(pairs: Iterable[tuple[bytes, bytes]], *, leave_out: bytes | None = None) -> str:
    """The pairs encoded strictly and sorted; `leave_out` names a key not signed (X-Amz-Signature)."""
    encoded = sorted(
        (quote(key, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
        for key, value in pairs
        if key != leave_out
    )
    return "&".join(f"{key}={value}" for key, value in encoded)


def uri_forms(raw_path: str | bytes, *, service: str) -> list[str]:
    """The canonical URI, then the path exactly as sent when that differs (curl before 8.x signs it so
    for every service). Raises UnicodeError for a path that is not UTF-8.

    The second form is left out when the path holds an escaped `%` (`%25`): only then could a
    signature of one path be taken for another's (`/a%2520b` signed as sent is the canonical form of
    `/a%20b`), and no two paths without `%25` that differ this way name different things."""
    path = raw_path.decode() if isinstance(raw_path, bytes) else raw_path
    if path == "/":
        return [path]
    uri = client_sigv4.canonical_uri(path, service=service)
    as_sent = path or "/"
    return [uri] if as_sent == uri or "%25" in path else [uri, as_sent]


def query_forms(raw: bytes, pairs: Iterable[tuple[bytes, bytes]], *, presigned: bool) -> list[str]:
    """The canonical query, then the query exactly as sent when that differs (curl before 8.x signs it
    unsorted). A presigned URL's query is canonical only: its signature sits inside it."""
    query = canonical_query(pairs, leave_out=b"X-Amz-Signature" if presigned else None)
    as_sent = raw.decode("latin-1")
    return [query] if presigned or as_sent == query else [query, as_sent]


def canonical_headers(headers: Headers, names: Sequence[str]) -> str:
    """`name:value\\n` for each signed header, in the order SignedHeaders lists them."""
    lines = []
    for name in names:
        values = headers.get(name, [])
        lines.append(f"{name}:{','.join(' '.join(value.split()) for value in values)}\n")
    return "".join(lines)


def string_to_sign(
    *,
    method: str,
    uri: str,
    query: str,
    headers: Headers,
    signed_headers: Sequence[str],
    payload: str,
    amz_date: str,
    scope: str,
) -> bytes:
    """AWS4-HMAC-SHA256, the timestamp, the scope and the hash of the canonical request."""
    canonical = "\n".join(
        [method, uri, query, canonical_headers(headers, signed_headers), ";".join(signed_headers), payload]
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}".encode()
