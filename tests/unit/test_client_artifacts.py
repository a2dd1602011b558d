"""Artifact downloads: checked against the server's SHA-256, written atomically, unpacked safely."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import httpx
import pytest

from app.client import ArtifactError, SageMakerClient, artifacts


def _archive(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, b""


def _client(body: bytes, headers: dict[str, str]) -> SageMakerClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body, headers=headers))
    return SageMakerClient(endpoint_url="http://sagelite.test", http_transport=transport)


def test_a_model_downloads_checks_its_sha256_and_unpacks(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "src.tar.gz", _file("model.json", b"{}"), _file("sub/weights.npz", b"w"))
    body = archive.read_bytes()
    client = _client(body, {"x-checksum-sha256": hashlib.sha256(body).hexdigest()})
    out = tmp_path / "out"
    assert client.download_training_job_artifact(TrainingJobName="j", destination=out) == out / "model.tar.gz"
    assert client.download_training_job_artifact(TrainingJobName="j", destination=out, unpack=True) == out
    assert (out / "model.json").read_bytes() == b"{}" and (out / "sub/weights.npz").read_bytes() == b"w"


def test_a_corrupted_download_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    client = _client(b"not what was stored", {"x-checksum-sha256": "0" * 64})
    with pytest.raises(ArtifactError, match="SHA-256"):
        client.download_training_job_artifact(TrainingJobName="j", destination=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_file_into_a_directory_keeps_the_key_name(tmp_path: Path) -> None:
    client = _client(b"a,b\n", {})
    assert client.download_file("s3://bucket/data/train.csv", tmp_path) == tmp_path / "train.csv"
    assert (tmp_path / "train.csv").read_bytes() == b"a,b\n"
    assert client.download_file("s3://bucket/data/train.csv", tmp_path / "x.csv") == tmp_path / "x.csv"


@pytest.mark.parametrize(
    "member",
    [
        _file("../escape.txt"),
        _file("/etc/absolute.txt"),
        _file("a/../../escape.txt"),
        _special("link", tarfile.SYMTYPE, "/etc/passwd"),
        _special("hard", tarfile.LNKTYPE, "../outside"),
        _special("fifo", tarfile.FIFOTYPE),
        _special("dev", tarfile.CHRTYPE),
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink", "hardlink", "fifo", "device"],
)
def test_unsafe_members_are_refused_before_anything_is_written(
    tmp_path: Path, member: tuple[tarfile.TarInfo, bytes]
) -> None:
    archive = _archive(tmp_path / "evil.tar.gz", _file("fine.txt"), member)
    target = tmp_path / "out"
    with pytest.raises(ArtifactError, match="refusing"):
        artifacts.unpack(archive, target)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()
