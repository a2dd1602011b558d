"""Account ids, key ids, secrets and session tokens have AWS's shapes and do not repeat."""

from __future__ import annotations

import re

from app.auth import key_material


def test_long_lived_and_temporary_key_ids_have_aws_prefixes_and_base32_bodies() -> None:
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key_material.access_key_id())
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", key_material.access_key_id(temporary=True))


def test_secrets_are_40_base64_characters_and_account_ids_12_digits() -> None:
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", key_material.secret_access_key())
    assert re.fullmatch(r"\d{12}", key_material.account_id())
    assert re.fullmatch(r"[A-Za-z0-9+/]{160}", key_material.session_token())


def test_fresh_values_do_not_repeat() -> None:
    for make in (key_material.access_key_id, key_material.secret_access_key, key_material.session_token):
        assert len({make() for _ in range(1000)}) == 1000
