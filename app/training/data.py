"""Reading a channel directory into arrays, the way SageMaker's built-in algorithms expect their input.

Format (SageMaker's convention for `text/csv`): no header row, comma-separated numbers, the label in
the first column; `text/csv;label_size=0` means there is no label column. Files ending in `.npy` are
2-D numeric arrays laid out the same way; files ending in `.gz` are gunzipped first. All files under
the channel directory (recursively, hidden files skipped) are read in sorted path order and
concatenated, so a dataset split into `part-0000.csv`, `part-0001.csv`, … keeps its row order.

Missing values: a row with an empty field or a NaN anywhere (label included) is dropped, not imputed;
the number dropped is reported in `Table.rows_dropped` and logged by the algorithm, so a user sees it in
the job's log. Everything else that is wrong — a non-numeric value, an infinite value, a row with a
different number of columns, a channel with no rows — is a `DataError` naming the file and line.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.training.errors import DataError

Array = npt.NDArray[np.float64]
Features = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Table:
    """One channel's rows: features (float32), labels (float64, or None without a label column)."""

    features: Features
    labels: Array | None
    rows_dropped: int
    files: int

    @property
    def rows(self) -> int:
        return int(self.features.shape[0])

    @property
    def width(self) -> int:
        return int(self.features.shape[1])

    def take(self, index: npt.NDArray[np.intp]) -> Table:
        labels = None if self.labels is None else self.labels[index]
        return Table(self.features[index], labels, 0, self.files)


def label_size(content_type: str | None) -> int | None:
    """The `label_size` parameter of a content type such as `text/csv;label_size=0`, if given."""
    for parameter in (content_type or "").split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "label_size":
            try:
                return int(value.strip())
            except ValueError:
                raise DataError(f"content type {content_type!r}: label_size must be an integer") from None
    return None


def load_channel(directory: Path, *, name: str, label_columns: int = 1) -> Table:
    """Read every file of a channel; `label_columns` is 1 (label first) or 0 (features only)."""
    if label_columns not in (0, 1):
        raise DataError(f"channel {name!r}: label_size={label_columns} is not supported (use 0 or 1)")
    files = data_files(directory)
    if not files:
        raise DataError(f"channel {name!r} has no data files")
    read = [(path, _read_file(path, directory)) for path in files]
    blocks = [(path, block) for path, block in read if block.shape[0]]
    if not blocks:
        raise DataError(f"channel {name!r} is empty: its {len(files)} file(s) hold no rows")
    _check_same_width(blocks, directory)
    matrix = np.concatenate([block for _, block in blocks])
    if matrix.shape[1] <= label_columns:
        raise DataError(f"channel {name!r}: rows have {matrix.shape[1]} column(s), so there are no features")
    complete = ~np.isnan(matrix).any(axis=1)
    if not complete.any():
        raise DataError(f"channel {name!r}: every one of its {matrix.shape[0]} rows has a missing value")
    kept = matrix[complete]
    labels = kept[:, 0].copy() if label_columns else None
    features = np.ascontiguousarray(kept[:, label_columns:], dtype=np.float32)
    return Table(features, labels, int((~complete).sum()), len(files))


def data_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = (p for p in directory.rglob("*") if p.is_file())
    visible = (p for p in found if not any(part.startswith(".") for part in p.relative_to(directory).parts))
    return sorted(visible, key=lambda p: p.relative_to(directory).as_posix())


def _check_same_width(blocks: list[tuple[Path, Array]], directory: Path) -> None:
    first_path, first = blocks[0]
    for path, block in blocks[1:]:
        if block.shape[1] != first.shape[1]:
            raise DataError(
                f"{path.relative_to(directory)}: has {block.shape[1]} columns but "
                f"{first_path.relative_to(directory)} has {first.shape[1]}"
            )


def _read_file(path: Path, directory: Path) -> Array:
    label = path.relative_to(directory).as_posix()
    if path.name.endswith(".npy"):
        return _read_npy(path, label)
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{label}: not UTF-8 text (expected CSV or .npy)") from None
    return parse_csv(text, label)


def _read_npy(path: Path, label: str) -> Array:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise DataError(f"{label}: not a readable numeric .npy file ({error})") from None
    if array.ndim != 2:
        raise DataError(f"{label}: expected a 2-D array (rows by columns), found {array.ndim}-D")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataError(f"{label}: expected numbers, found dtype {array.dtype}")
    matrix: Array = array.astype(np.float64)
    _refuse_infinite(matrix, label, lines=None)
    return matrix


def parse_csv(text: str, label: str) -> Array:
    """Parse header-less numeric CSV; empty fields become NaN (dropped later), the rest must be numbers."""
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        return np.zeros((0, 0))
    lines = [line for _, line in numbered]
    try:
        # numpy's C parser: the fast path for clean files.
        matrix = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        matrix = _parse_slowly(numbered, label)
    _refuse_infinite(matrix, label, lines=[n for n, _ in numbered])
    return matrix


def _parse_slowly(numbered: list[tuple[int, str]], label: str) -> Array:
    rows = [line.split(",") for _, line in numbered]
    width = len(rows[0])
    for (number, _), row in zip(numbered, rows, strict=True):
        if len(row) != width:
            raise DataError(
                f"{label} line {number}: expected {width} columns (as on line 1), found {len(row)}"
            )
    cells = np.char.strip(np.array(rows, dtype=str))
    cells = np.where(cells == "", "nan", cells)  # np.where widens the string dtype to fit "nan"
    try:
        return cells.astype(np.float64)
    except ValueError:
        raise _first_bad_cell(cells, numbered, label) from None


def _first_bad_cell(cells: npt.NDArray[np.str_], numbered: list[tuple[int, str]], label: str) -> DataError:
    for row_index, row in enumerate(cells):
        for column, cell in enumerate(row):
            try:
                float(cell)
            except ValueError:
                hint = " (SageMaker CSV has no header row)" if row_index == 0 else ""
                line = numbered[row_index][0]
                return DataError(
                    f"{label} line {line}, column {column + 1}: {str(cell)!r} is not a number{hint}"
                )
    return DataError(f"{label}: could not be parsed as numeric CSV")


def _refuse_infinite(matrix: Array, label: str, *, lines: list[int] | None) -> None:
    infinite = np.isinf(matrix)
    if infinite.any():
        row, column = (int(i) for i in np.argwhere(infinite)[0])
        where = f"line {lines[row]}" if lines else f"row {row + 1}"
        raise DataError(f"{label} {where}, column {column + 1}: infinite value")
