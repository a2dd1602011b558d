"""Fresh account ids, access key ids, secrets and session tokens, shaped as AWS's are."""

from __future__ import annotations

import base64
import secrets

# AWS's prefixes: `AKIA` for a long-lived user key, `ASIA` for temporary (STS session) credentials.
LONG_LIVED_PREFIX = "AKIA"
TEMPORARY_PREFIX = "ASIA"
SECRET_BYTES = 30  # 40 base64 characters, as an AWS secret access key
SESSION_TOKEN_BYTES = 120


def account_id() -> str:
    """12 random digits."""
    return f"{secrets.randbelow(10**12):012d}"


def access_key_id(*, temporary: bool = False) -> str:
    """`AKIA` (or `ASIA`) and 16 characters of base32 ([A-Z2-7]): 80 random bits."""
    prefix = TEMPORARY_PREFIX if temporary else LONG_LIVED_PREFIX
    return prefix + base64.b32encode(secrets.token_bytes(10)).decode()


def secret_access_key() -> str:
    return base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def session_token() -> str:
    return base64.b64encode(secrets.token_bytes(SESSION_TOKEN_BYTES)).decode()
