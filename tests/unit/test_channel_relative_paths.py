"""Where an object under an S3Prefix lands in its channel directory (`channels.relative_path`)."""

from __future__ import annotations

import pytest

from app.runtime.channels import relative_path


@pytest.mark.parametrize(
    ("prefix", "key", "lands_at"),
    [
        # A folder, with or without its slash: its content sits at the channel's root (the SDK v3
        # uploads `sm_drivers` and `code` so, and its driver runs /opt/ml/input/data/sm_drivers/sm_train.sh).
        ("job/input/sm_drivers", "job/input/sm_drivers/sm_train.sh", "sm_train.sh"),
        ("job/input/sm_drivers/", "job/input/sm_drivers/sm_train.sh", "sm_train.sh"),
        ("job/input/code", "job/input/code/pkg/util.py", "pkg/util.py"),
        ("train", "train/train.csv", "train.csv"),
        # A partial name keeps what follows the prefix's last slash.
        ("data/tr", "data/train.csv", "train.csv"),
        ("data/tr", "data/train/part-0.csv", "train/part-0.csv"),
        ("job/input/sm_drivers", "job/input/sm_drivers-old/x.sh", "sm_drivers-old/x.sh"),
        # One object named in full; the bucket's root.
        ("data/train.csv", "data/train.csv", "train.csv"),
        ("", "data/train.csv", "data/train.csv"),
    ],
)
def test_an_object_lands_relative_to_the_folder_its_prefix_names(
    prefix: str, key: str, lands_at: str
) -> None:
    assert relative_path(prefix=prefix, key=key) == lands_at
