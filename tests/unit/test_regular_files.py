"""What the server packages from a VM's directories: regular files, never what a link points at."""

from __future__ import annotations

from pathlib import Path

from app.runtime.artifacts import regular_files


def test_links_out_of_the_vm_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("host only")
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "sub" / "weights.bin").write_bytes(b"w")
    (model / "a.json").write_text("{}")
    (model / "stolen").symlink_to(secret)
    (model / "stolen-dir").symlink_to(tmp_path)
    assert regular_files(model) == [model / "a.json", model / "sub" / "weights.bin"]
