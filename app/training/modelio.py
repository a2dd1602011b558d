"""Model directory format shared by the algorithms: `model.json` (how to apply) + `weights.npz`.

`weights.npz` is written first and `model.json` last, each through a temporary file and a rename, so a
model directory that has a `model.json` is complete even if the process is killed mid-save.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.npz"
FORMAT_VERSION = 1
# The stub of np.savez types **kwargs as its own options; ours are array names.
_savez: Callable[..., None] = np.savez


def save(model_dir: Path, *, meta: Mapping[str, Any], arrays: Mapping[str, npt.NDArray[Any]]) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    weights_tmp = model_dir / f".{WEIGHTS_FILE}.tmp"
    with weights_tmp.open("wb") as handle:
        _savez(handle, **arrays)
    os.replace(weights_tmp, model_dir / WEIGHTS_FILE)
    document = {"format_version": FORMAT_VERSION, **meta, "weights": WEIGHTS_FILE, "arrays": sorted(arrays)}
    model_tmp = model_dir / f".{MODEL_FILE}.tmp"
    model_tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(model_tmp, model_dir / MODEL_FILE)


def load(model_dir: Path, *, algorithm: str) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    meta: dict[str, Any] = json.loads((model_dir / MODEL_FILE).read_text(encoding="utf-8"))
    if meta.get("algorithm") != algorithm:
        raise ValueError(f"{model_dir} holds a {meta.get('algorithm')!r} model, not {algorithm!r}")
    with np.load(model_dir / meta["weights"], allow_pickle=False) as weights:
        arrays = {name: weights[name] for name in weights.files}
    return meta, arrays
