"""The root (admin) key of the default account, from the settings, or `test` / `test` on loopback only.

`check` is pure and runs before the server binds, so a misconfigured server stops with one clear line;
`ensure_root_key` makes the database match (idempotently) when the services are built.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the CLI imports this module for its error alone: no database modules at startup
    from app.auth.identities import AccessKeyInfo, AccountInfo
    from app.config import Settings

logger = logging.getLogger(__name__)

# The convention of local AWS emulators: examples and SDK defaults keep working on a developer's machine.
DEFAULT_ACCESS_KEY_ID = "test"
DEFAULT_SECRET_ACCESS_KEY = "test"
DEFAULT_ACCOUNT_NAME = "default"


class BootstrapError(Exception):
    """The server cannot start with these security settings; the message says what to set."""


@dataclass(frozen=True, slots=True)
class RootKey:
    access_key_id: str
    secret_access_key: str
    configured: bool  # False: the loopback default `test` / `test`


class RootKeyStore(Protocol):
    """The part of `IdentityService` bootstrap uses."""

    def ensure_account(self, account_id: str, *, name: str) -> AccountInfo: ...

    def get_access_key(self, access_key_id: str) -> AccessKeyInfo | None: ...

    def put_access_key(
        self, access_key_id: str, secret_access_key: str, *, account_id: str, admin: bool
    ) -> None: ...


def is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (bracketed or not)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check(settings: Settings) -> RootKey:
    """The root key the settings call for, or `BootstrapError` if they allow none."""
    key_id = settings.root_access_key_id
    secret = settings.root_secret_access_key
    if key_id and secret is not None and secret.get_secret_value():
        return RootKey(key_id, secret.get_secret_value(), configured=True)
    if key_id or secret is not None:
        raise BootstrapError(
            "set both SAGELITE_ROOT_ACCESS_KEY_ID and SAGELITE_ROOT_SECRET_ACCESS_KEY, or neither"
        )
    if not is_loopback(settings.host):
        raise BootstrapError(
            f"refusing to serve on {settings.host} with the default credentials: set "
            "SAGELITE_ROOT_ACCESS_KEY_ID and SAGELITE_ROOT_SECRET_ACCESS_KEY to the root admin key "
            "(the default test/test key is only made for a server bound to loopback)"
        )
    return RootKey(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, configured=False)


def ensure_root_key(*, settings: Settings, identities: RootKeyStore) -> None:
    """Create the default account and its root admin key, or bring them in line with the settings.

    A configured key is written as configured (a changed secret replaces the stored one, a revoked key is
    active again). The loopback default is made once: if an operator revoked it, it stays revoked.
    """
    root = check(settings)
    identities.ensure_account(settings.account_id, name=DEFAULT_ACCOUNT_NAME)
    if root.configured:
        identities.put_access_key(
            root.access_key_id, root.secret_access_key, account_id=settings.account_id, admin=True
        )
        return
    existing = identities.get_access_key(root.access_key_id)
    if existing is None:
        identities.put_access_key(
            root.access_key_id, root.secret_access_key, account_id=settings.account_id, admin=True
        )
    if existing is None or existing.revoked_at is None:
        logger.warning(
            "the default root credentials are in use (access key id test): set "
            "SAGELITE_ROOT_ACCESS_KEY_ID and SAGELITE_ROOT_SECRET_ACCESS_KEY to a key of your own",
            extra={"access_key_id": root.access_key_id, "account_id": settings.account_id},
        )
