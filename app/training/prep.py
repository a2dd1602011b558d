"""Preparing tables for training: standardization, class labels, held-out splits, channel checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.training.context import Channel, TrainContext
from app.training.data import Array, Features, Table, label_size, load_channel
from app.training.errors import DataError

Indices = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Standardizer:
    """Per-feature (x - mean) / std, fitted on the training rows only and stored with the model."""

    mean: Features
    std: Features

    @classmethod
    def fit(cls, features: Features) -> Standardizer:
        mean = features.mean(axis=0, dtype=np.float64)
        std = features.std(axis=0, dtype=np.float64)
        # A constant feature carries no information; dividing by 1 keeps it finite (it becomes 0).
        std[std < 1e-12] = 1.0
        return cls(mean.astype(np.float32), std.astype(np.float32))

    @classmethod
    def identity(cls, width: int) -> Standardizer:
        return cls(np.zeros(width, np.float32), np.ones(width, np.float32))

    def apply(self, features: npt.ArrayLike) -> Features:
        return ((np.asarray(features, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def to_json(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Standardizer:
        return cls(np.asarray(document["mean"], np.float32), np.asarray(document["std"], np.float32))


def find_classes(labels: Array, *, num_classes: int | None) -> Array:
    """The sorted class values; with `num_classes` the labels must be the integers 0 … num_classes-1."""
    if num_classes is None:
        classes = np.unique(labels)
        if classes.size < 2:
            raise DataError(
                f"the training labels hold a single class ({classes[0]:g}); at least two are needed"
            )
        return classes
    bad = (labels != np.round(labels)) | (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise DataError(f"label {labels[bad][0]:g} is not an integer in [0, num_classes={num_classes})")
    return np.arange(num_classes, dtype=np.float64)


def encode(labels: Array, classes: Array, *, channel: str) -> Indices:
    """Class values → indices into `classes`; a value the training data never had is a DataError."""
    index = np.searchsorted(classes, labels).clip(0, classes.size - 1)
    unknown = classes[index] != labels
    if unknown.any():
        known = ", ".join(f"{c:g}" for c in classes[:10])
        raise DataError(
            f"channel {channel!r}: label {labels[unknown][0]:g} is not a training class ({known})"
        )
    return index.astype(np.int64)


def class_targets(index: Indices, count: int) -> Features:
    """Training targets: (n, 1) of 0/1 for two classes (one sigmoid output), else (n, count) one-hot."""
    if count == 2:
        return index.astype(np.float32)[:, None]
    target = np.zeros((index.size, count), np.float32)
    target[np.arange(index.size), index] = 1.0
    return target


def decode(classes: npt.ArrayLike, index: npt.NDArray[np.integer[Any]]) -> Array:
    """Class indices → class values (the inverse of `encode`)."""
    values: Array = np.asarray(classes, np.float64)[index]
    return values


def split(table: Table, *, fraction: float, seed: int) -> tuple[Table, Table | None]:
    """Hold out a random `fraction` of rows for validation (none when fraction is 0 or rows are few)."""
    held = round(table.rows * fraction)
    if held < 1 or held >= table.rows:
        return table, None
    order = np.random.default_rng(seed).permutation(table.rows)
    return table.take(np.sort(order[held:])), table.take(np.sort(order[:held]))


def require_labels(table: Table, *, channel: str) -> Array:
    if table.labels is None:
        raise DataError(
            f"channel {channel!r} has no label column (label_size=0) but this algorithm needs one"
        )
    return table.labels


def require_width(table: Table, *, width: int, channel: str) -> None:
    if table.width != width:
        raise DataError(
            f"channel {channel!r} has {table.width} feature columns but the training channel has {width}"
        )


def read_channel(channel: Channel, *, log: Callable[[str], None], label_columns: int | None = None) -> Table:
    """Load a channel (label_size from its content type unless given) and log what was read and dropped."""
    size = label_columns if label_columns is not None else label_size(channel.content_type)
    table = load_channel(channel.path, name=channel.name, label_columns=1 if size is None else size)
    dropped = f"; {table.rows_dropped} row(s) with missing values dropped" if table.rows_dropped else ""
    shape = f"{table.rows} rows of {table.width} features"
    log(f"channel {channel.name!r}: {shape} from {table.files} file(s){dropped}")
    return table


def training_channel(ctx: TrainContext, algorithm: str) -> Channel:
    channel = ctx.channel("train", "training")
    if channel is None:
        raise DataError(f"{algorithm} needs a 'train' channel; the job has {sorted(ctx.channels) or 'none'}")
    return channel


def read_optional(
    channel: Channel | None, *, width: int, log: Callable[[str], None], **kwargs: int
) -> Table | None:
    """Read an optional channel (validation, test) and check it has the training channel's features."""
    if channel is None:
        return None
    table = read_channel(channel, log=log, **kwargs)
    require_width(table, width=width, channel=channel.name)
    return table


def check_feature_dim(table: Table, feature_dim: int | None) -> None:
    if feature_dim is not None and feature_dim != table.width:
        raise DataError(
            f"feature_dim={feature_dim} but the training channel has {table.width} feature columns"
        )
