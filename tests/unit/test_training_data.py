"""Reading channels (CSV, .npy, gzip), dropped rows, readable errors; hyperparameters; metric lines."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from app.training import metric_lines, prep
from app.training.data import label_size, load_channel
from app.training.errors import DataError, HyperparameterError
from app.training.params import Hyperparameters


def _write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)


def test_files_are_concatenated_in_sorted_order(tmp_path: Path) -> None:
    _write(tmp_path, "part-0002.csv", "1,3.0,3.5\n")
    _write(tmp_path, "part-0001.csv", "0,1.0,1.5\n1,2.0,2.5\n")
    _write(tmp_path / "sub", "part-0003.csv", "0,4.0,4.5\n")
    _write(tmp_path, ".hidden", "not,data\n")
    table = load_channel(tmp_path, name="train")
    assert table.labels is not None
    assert table.labels.tolist() == [0, 1, 1, 0]
    assert table.features[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert table.features.dtype == np.float32
    assert (table.rows, table.width, table.files, table.rows_dropped) == (4, 2, 3, 0)


def test_rows_with_missing_values_are_dropped_and_counted(tmp_path: Path) -> None:
    _write(tmp_path, "d.csv", "1,2,3\n0,,3\n1,2,nan\n,2,3\n\n0,5,6\n")
    table = load_channel(tmp_path, name="train")
    assert table.rows == 2
    assert table.rows_dropped == 3
    assert table.features.tolist() == [[2, 3], [5, 6]]


def test_label_size_zero_keeps_every_column_as_a_feature(tmp_path: Path) -> None:
    _write(tmp_path, "d.csv", "1,2\n3,4\n")
    table = load_channel(tmp_path, name="train", label_columns=0)
    assert table.labels is None
    assert table.width == 2


def test_npy_and_gzip_files_are_read(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.array([[1.0, 0.5, 0.25]]))
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(b"0,1.5,2.5\n"))
    table = load_channel(tmp_path, name="train")
    assert table.labels is not None and table.labels.tolist() == [1.0, 0.0]
    assert table.features.tolist() == [[0.5, 0.25], [1.5, 2.5]]


def test_wrong_column_count_names_the_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "d.csv", "1,2,3\n0,2,3\n1,2\n")
    with pytest.raises(DataError, match=r"d\.csv line 3: expected 3 columns \(as on line 1\), found 2"):
        load_channel(tmp_path, name="train")


def test_files_with_different_widths_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.csv", "1,2,3\n")
    _write(tmp_path, "b.csv", "1,2\n")
    with pytest.raises(DataError, match=r"b\.csv: has 2 columns but a\.csv has 3"):
        load_channel(tmp_path, name="train")


def test_non_numeric_value_names_line_and_column(tmp_path: Path) -> None:
    _write(tmp_path, "d.csv", "1,2,3\n0,abc,3\n")
    with pytest.raises(DataError, match=r"d\.csv line 2, column 2: 'abc' is not a number"):
        load_channel(tmp_path, name="train")


def test_a_header_row_gets_a_hint(tmp_path: Path) -> None:
    _write(tmp_path, "d.csv", "label,x,y\n1,2,3\n")
    with pytest.raises(DataError, match="has no header row"):
        load_channel(tmp_path, name="train")


def test_infinite_values_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "d.csv", "1,2,3\n0,inf,3\n")
    with pytest.raises(DataError, match=r"line 2, column 2: infinite value"):
        load_channel(tmp_path, name="train")


def test_empty_channels_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="channel 'train' has no data files"):
        load_channel(tmp_path / "missing", name="train")
    _write(tmp_path, "empty.csv", "\n\n")
    with pytest.raises(DataError, match="channel 'train' is empty"):
        load_channel(tmp_path, name="train")
    _write(tmp_path, "holes.csv", "1,,3\n")
    with pytest.raises(DataError, match="every one of its 1 rows has a missing value"):
        load_channel(tmp_path, name="train")


def test_label_only_rows_have_no_features(tmp_path: Path) -> None:
    _write(tmp_path, "d.csv", "1\n0\n")
    with pytest.raises(DataError, match="no features"):
        load_channel(tmp_path, name="train")


def test_non_numeric_npy_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.array([["a", "b"]]))
    with pytest.raises(DataError, match=r"a\.npy: expected numbers"):
        load_channel(tmp_path, name="train")


def test_label_size_comes_from_the_content_type() -> None:
    assert label_size("text/csv;label_size=0") == 0
    assert label_size("text/csv; label_size=1") == 1
    assert label_size("text/csv") is None
    assert label_size(None) is None


def test_standardizer_uses_training_statistics_and_survives_constant_columns() -> None:
    train = np.array([[1.0, 5.0], [3.0, 5.0]], np.float32)
    scaler = prep.Standardizer.fit(train)
    assert scaler.mean.tolist() == [2.0, 5.0]
    assert scaler.std.tolist() == [1.0, 1.0]
    assert scaler.apply([[4.0, 5.0]]).tolist() == [[2.0, 0.0]]
    restored = prep.Standardizer.from_json(scaler.to_json())
    assert np.array_equal(restored.mean, scaler.mean) and np.array_equal(restored.std, scaler.std)


def test_split_is_reproducible_and_disjoint(tmp_path: Path) -> None:
    _write(tmp_path, "d.csv", "".join(f"{i % 2},{i}\n" for i in range(100)))
    table = load_channel(tmp_path, name="train")
    train, held = prep.split(table, fraction=0.2, seed=7)
    again, _ = prep.split(table, fraction=0.2, seed=7)
    assert held is not None and (train.rows, held.rows) == (80, 20)
    assert np.array_equal(train.features, again.features)
    assert not set(train.features[:, 0]) & set(held.features[:, 0])


def test_classes_and_encoding() -> None:
    labels = np.array([2.0, 5.0, 2.0])
    classes = prep.find_classes(labels, num_classes=None)
    assert prep.encode(labels, classes, channel="train").tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="label 7 is not a training class"):
        prep.encode(np.array([7.0]), classes, channel="validation")
    with pytest.raises(DataError, match="single class"):
        prep.find_classes(np.array([1.0, 1.0]), num_classes=None)
    with pytest.raises(DataError, match=r"not an integer in \[0, num_classes=3\)"):
        prep.find_classes(np.array([0.0, 3.0]), num_classes=3)


def test_hyperparameters_are_parsed_and_checked() -> None:
    raw = Hyperparameters(
        {"epochs": "1e1", "lr": "0.5", "layers": "[64, 32]", "flag": "True", "sagemaker_program": "x.py"},
        algorithm="demo",
        known=("epochs", "lr", "layers", "flag"),
    )
    assert raw.integer("epochs", 1) == 10
    assert raw.number("lr", 0.1) == 0.5
    assert raw.int_list("layers", ()) == (64, 32)
    assert raw.boolean("flag", False) is True
    assert raw.integer("missing", 3) == 3
    with pytest.raises(HyperparameterError, match="does not accept hyperparameter"):
        Hyperparameters({"learning-rate": "0.1"}, algorithm="demo", known=("learning_rate",))
    bad = Hyperparameters({"epochs": "ten"}, algorithm="demo", known=("epochs",))
    with pytest.raises(HyperparameterError, match="epochs='ten': must be an integer"):
        bad.integer("epochs", 1)


def test_metric_lines_are_read_back_by_their_definitions() -> None:
    line = metric_lines.format_line(
        {"train:loss": 0.25, "validation:loss": 1.5e-5, "validation:accuracy": 0.9}, epoch=3
    )
    assert line == "#metric epoch=3 train:loss=0.25 validation:loss=1.5e-05 validation:accuracy=0.9"
    found = {}
    for definition in metric_lines.definitions(["train:loss", "validation:loss", "validation:accuracy"]):
        match = re.search(definition["Regex"], line)
        assert match is not None, definition
        found[definition["Name"]] = float(match.group(1))
    assert found == {"train:loss": 0.25, "validation:loss": 1.5e-5, "validation:accuracy": 0.9}
    assert re.search(metric_lines.regex("train:loss"), "#metric epoch=1 validation:loss=0.5") is None
