"""Which root key the settings call for: configured, the loopback default, or a refusal to start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.auth import bootstrap
from app.config import Settings


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(data_dir=tmp_path, **values)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_addresses(host: str) -> None:
    assert bootstrap.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "example.com", ""])
def test_other_addresses(host: str) -> None:
    assert not bootstrap.is_loopback(host)


def test_configured_credentials_name_the_root_key_on_any_address(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, host="0.0.0.0", root_access_key_id="AKIAROOT", root_secret_access_key="s3cret"
    )
    assert bootstrap.check(settings) == bootstrap.RootKey("AKIAROOT", "s3cret", configured=True)


def test_without_credentials_loopback_gets_the_default_key(tmp_path: Path) -> None:
    assert bootstrap.check(_settings(tmp_path)) == bootstrap.RootKey("test", "test", configured=False)


def test_without_credentials_any_other_address_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(bootstrap.BootstrapError, match="SAGELITE_ROOT_ACCESS_KEY_ID"):
        bootstrap.check(_settings(tmp_path, host="0.0.0.0"))


@pytest.mark.parametrize(
    "values",
    [
        {"root_access_key_id": "AKIAROOT"},
        {"root_secret_access_key": "s3cret"},
        {"root_access_key_id": "AKIAROOT", "root_secret_access_key": ""},
    ],
)
def test_one_half_of_the_root_key_is_an_error_even_on_loopback(tmp_path: Path, values: Any) -> None:
    with pytest.raises(bootstrap.BootstrapError, match="both"):
        bootstrap.check(_settings(tmp_path, **values))
