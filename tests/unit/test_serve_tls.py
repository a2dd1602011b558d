"""`sagelite serve` with TLS settings that cannot work: one line on stderr and exit 2, before anything
starts (no socket, no database). The working case is in tests/e2e/test_https.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app.cli import run
from app.cli.server import Tls, checked_tls
from app.config import Settings
from tests.support.tls import TlsFiles, self_signed


@pytest.fixture
def pair(tmp_path: Path) -> TlsFiles:
    return self_signed(tmp_path / "tls")


def serve(tmp_path: Path, *options: str) -> int:
    return run(["serve", "--data-dir", str(tmp_path / "data"), "--port", "1", *options])


def refused(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("sagelite: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("given", ["--certfile", "--keyfile"])
def test_one_without_the_other_is_refused(
    given: str, pair: TlsFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve(tmp_path, given, str(pair.certfile)) == 2
    assert "give both --certfile and --keyfile" in refused(capsys)
    assert not (tmp_path / "data").exists()


def test_the_environment_alone_is_checked_the_same_way(
    pair: TlsFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAGELITE_KEYFILE", str(pair.keyfile))
    assert serve(tmp_path) == 2
    assert "SAGELITE_CERTFILE and SAGELITE_KEYFILE" in refused(capsys)


def test_a_missing_file_is_named(pair: TlsFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.pem"
    assert serve(tmp_path, "--certfile", str(missing), "--keyfile", str(pair.keyfile)) == 2
    assert f"cannot read {missing}: No such file or directory" in refused(capsys)


@pytest.mark.parametrize("swap", ["garbage", "not-its-key", "key-as-cert"])
def test_files_that_are_not_a_matching_pair_are_refused(
    swap: str, pair: TlsFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    certfile, keyfile = pair.certfile, pair.keyfile
    if swap == "garbage":
        certfile = tmp_path / "garbage.pem"
        certfile.write_text("not a certificate\n")
    elif swap == "not-its-key":
        keyfile = self_signed(tmp_path / "other").keyfile
    else:
        certfile = pair.keyfile
    assert serve(tmp_path, "--certfile", str(certfile), "--keyfile", str(keyfile)) == 2
    assert "are not a PEM certificate and its unencrypted private key" in refused(capsys)


def test_an_encrypted_key_is_refused_without_prompting(
    pair: TlsFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = serialization.load_pem_private_key(pair.keyfile.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    assert serve(tmp_path, "--certfile", str(pair.certfile), "--keyfile", str(encrypted)) == 2
    assert "the private key is encrypted" in refused(capsys)


def test_a_good_pair_is_what_uvicorn_gets(pair: TlsFiles, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, certfile=pair.certfile, keyfile=pair.keyfile)
    assert checked_tls(settings) == Tls(certfile=pair.certfile, keyfile=pair.keyfile)
    assert checked_tls(Settings(data_dir=tmp_path)) == Tls()
