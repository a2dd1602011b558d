"""What travels between the server and a Ray node: a VM's tree packed and unpacked, never outside it."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from app.runtime.channels import Fetch
from app.runtime.ray import node_files


def test_only_the_named_parts_travel_and_arrive_as_they_were(tmp_path: Path) -> None:
    root = tmp_path / "vm"
    (root / "model").mkdir(parents=True)
    (root / "model" / "weights.bin").write_bytes(b"\x00\x01" * 10)
    (root / "output" / "data").mkdir(parents=True)
    (root / "output" / "failure").write_text("ClientError: bad input\n")
    (root / "input" / "data" / "train").mkdir(parents=True)
    (root / "input" / "data" / "train" / "big.csv").write_text("x" * 1000)

    node_files.unpack(node_files.pack(root, parts=node_files.RESULTS), tmp_path / "back")

    back = tmp_path / "back"
    assert (back / "model" / "weights.bin").read_bytes() == b"\x00\x01" * 10
    assert (back / "output" / "failure").read_text() == "ClientError: bad input\n"
    assert not (back / "input").exists()  # the channels stay on the node


def test_an_archive_cannot_write_outside_the_folder_it_is_unpacked_in(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("model/escape")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        archive.addfile(link)
    with pytest.raises(tarfile.FilterError):
        node_files.unpack(buffer.getvalue(), tmp_path / "vm")


def test_a_server_file_is_no_channel_a_node_can_download(tmp_path: Path) -> None:
    with pytest.raises(node_files.DownloadError, match="file://"):
        node_files.download(
            [Fetch(bucket="file://", key="/data/x.csv", target="train/x.csv")], data_dir=tmp_path, env={}
        )
