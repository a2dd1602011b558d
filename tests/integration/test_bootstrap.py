"""The root key on a real database: from the settings, the loopback default, or no start at all."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.auth import bootstrap
from app.auth.identities import IdentityService
from app.clock import FakeClock
from app.config import Settings
from app.crypto import keyring
from app.db import migrate
from app.main import create_app
from app.services import build

ACCOUNT = "123456789012"


@pytest.fixture
def identities(sessions: sessionmaker[Session], tmp_path: Path) -> IdentityService:
    ring = keyring.load_or_create(tmp_path / "master.key")
    return IdentityService(sessions=sessions, keyring=ring, clock=FakeClock())


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", **values)


def _ensure(tmp_path: Path, identities: IdentityService, **values: Any) -> None:
    bootstrap.ensure_root_key(settings=_settings(tmp_path, **values), identities=identities)


def test_configured_root_key_is_an_admin_key_of_the_default_account(
    tmp_path: Path, identities: IdentityService, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        _ensure(
            tmp_path, identities, host="0.0.0.0", root_access_key_id="AKIAROOT", root_secret_access_key="s1"
        )
        _ensure(
            tmp_path, identities, host="0.0.0.0", root_access_key_id="AKIAROOT", root_secret_access_key="s1"
        )
    record = identities.lookup("AKIAROOT")
    assert record is not None
    assert (record.secret_access_key, record.caller.account_id, record.caller.is_admin) == (
        "s1",
        ACCOUNT,
        True,
    )
    assert [(a.account_id, a.name) for a in identities.list_accounts().items] == [(ACCOUNT, "default")]
    assert len(identities.list_access_keys().items) == 1
    assert "s1" not in caplog.text and not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_changed_secret_replaces_the_stored_one_and_a_revoked_root_key_comes_back(
    tmp_path: Path, identities: IdentityService
) -> None:
    _ensure(tmp_path, identities, root_access_key_id="AKIAROOT", root_secret_access_key="old")
    identities.revoke("AKIAROOT")
    _ensure(tmp_path, identities, root_access_key_id="AKIAROOT", root_secret_access_key="new")
    record = identities.lookup("AKIAROOT")
    assert record is not None and record.secret_access_key == "new"


def test_loopback_without_settings_gets_test_test_and_a_warning(
    tmp_path: Path, identities: IdentityService, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        _ensure(tmp_path, identities)
    record = identities.lookup("test")
    assert record is not None
    assert (record.secret_access_key, record.caller.is_admin) == ("test", True)
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "default root credentials" in warning.getMessage()
    assert "secret" not in vars(warning) and "SAGELITE_ROOT_SECRET_ACCESS_KEY" in warning.getMessage()


def test_a_revoked_default_key_stays_revoked(tmp_path: Path, identities: IdentityService) -> None:
    _ensure(tmp_path, identities)
    identities.revoke("test")
    _ensure(tmp_path, identities)
    assert identities.lookup("test") is None


@pytest.mark.parametrize(
    "values",
    [{"host": "0.0.0.0"}, {"root_access_key_id": "AKIAROOT"}, {"root_secret_access_key": "s"}],
)
def test_refusals_write_nothing(tmp_path: Path, identities: IdentityService, values: Any) -> None:
    with pytest.raises(bootstrap.BootstrapError):
        _ensure(tmp_path, identities, **values)
    assert identities.list_accounts().items == []


def test_the_services_and_the_app_bootstrap_or_refuse(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.data_dir.mkdir()
    migrate.upgrade(settings.resolved_database_url)
    services = build(settings)
    try:
        record = services.identities.lookup("test")
        assert record is not None and record.caller.is_admin
    finally:
        services.close()
    exposed = _settings(tmp_path, host="0.0.0.0")
    with pytest.raises(bootstrap.BootstrapError):
        build(exposed)
    with pytest.raises(bootstrap.BootstrapError):
        create_app(exposed)
