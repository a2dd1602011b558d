"""`kmeans`: mini-batch k-means followed by Lloyd refinement, with SageMaker's hyperparameter names.

Hyperparameters: `k` (required), `feature_dim`, `mini_batch_size` (5000), `epochs` (1), `init_method`
(`random` or `kmeans++`), `local_lloyd_max_iter` (300), `local_lloyd_tol` (0.0001), `eval_metrics`
(`msd`, `ssd`), and `seed` (0, a sagelite addition). Each epoch is one shuffled pass of mini-batch
updates (per-center learning rate 1/count, as in Sculley's web-scale k-means); afterwards full-data
Lloyd iterations run until the mean squared distance improves by less than `local_lloyd_tol` (relative).
The real algorithm refines a weighted set of extra centers instead; the result is the same kind of model.

With InstanceCount > 1 the VMs cluster together (`app.training.team`): each holds its own rows (its
`ShardedByS3Key` shard or its slice of a `FullyReplicated` channel), the initial centers are chosen from a
sample pooled from every member, and each mini-batch and Lloyd step sums the per-center counts and
coordinate sums over the team, so that every member applies the same update and ends with the same
centers: one model, as if one VM had seen all the rows.

Label column: k-means has no label. As SageMaker documents, `text/csv;label_size=0` says there is none;
without `label_size`, a `feature_dim` equal to the column count means none and one less means the first
column is a label (ignored); with neither, every column is a feature. Features are not standardized
(the real algorithm does not either): centers live in the data's own units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.training import builtin_algorithms, data, data_parallel, modelio, prep
from app.training.context import Channel, TrainContext, TrainResult
from app.training.errors import DataError, HyperparameterError
from app.training.params import Hyperparameters
from app.training.team import Team

ALGORITHM = builtin_algorithms.KMEANS.name
KNOWN = (
    "k",
    "feature_dim",
    "mini_batch_size",
    "epochs",
    "init_method",
    "local_lloyd_max_iter",
    "local_lloyd_tol",
    "eval_metrics",
    "seed",
)
IGNORED = ("extra_center_factor", "half_life_time_size", "local_lloyd_init_method", "local_lloyd_num_trials")
_CHUNK = 16384
_KMEANS_PP_SAMPLE = 20000

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Settings:
    k: int
    feature_dim: int | None
    batch_size: int
    epochs: int
    init_method: str
    lloyd_max_iter: int
    lloyd_tol: float
    seed: int


def settings(raw: Hyperparameters) -> Settings:
    if "k" not in raw:
        raise HyperparameterError("kmeans needs the hyperparameter k (the number of clusters)")
    return Settings(
        k=raw.integer("k", 0, minimum=1),
        feature_dim=raw.optional_integer("feature_dim", minimum=1),
        batch_size=raw.integer("mini_batch_size", 5000, minimum=1),
        epochs=raw.integer("epochs", 1, minimum=1),
        init_method=raw.choice("init_method", "random", ("random", "kmeans++")),
        lloyd_max_iter=raw.integer("local_lloyd_max_iter", 300, minimum=0),
        lloyd_tol=raw.number("local_lloyd_tol", 0.0001, minimum=0.0),
        seed=raw.integer("seed", 0),
    )


def squared_distances(x: Matrix, centers: Matrix) -> Matrix:
    """(rows, k) squared Euclidean distances, by ||x||² - 2 x·c + ||c||² (one matmul)."""
    result: Matrix = (
        (x * x).sum(axis=1, keepdims=True) - 2.0 * (x @ centers.T) + (centers * centers).sum(axis=1)
    )
    return np.maximum(result, 0.0, out=result)


def assign(x: Matrix, centers: Matrix) -> tuple[npt.NDArray[np.int64], Matrix]:
    """Nearest center and its squared distance per row, in chunks to bound memory."""
    nearest, distance = [], []
    for start in range(0, x.shape[0], _CHUNK):
        d2 = squared_distances(x[start : start + _CHUNK], centers)
        index = d2.argmin(axis=1)
        nearest.append(index)
        distance.append(d2[np.arange(index.size), index])
    return np.concatenate(nearest).astype(np.int64), np.concatenate(distance).astype(np.float32)


def initial_centers(x: Matrix, k: int, method: str, rng: np.random.Generator) -> Matrix:
    if method == "random":
        return x[rng.choice(x.shape[0], size=k, replace=False)].copy()
    sample = x[rng.choice(x.shape[0], size=min(x.shape[0], _KMEANS_PP_SAMPLE), replace=False)]
    centers = [sample[rng.integers(sample.shape[0])]]
    closest = squared_distances(sample, centers[0][None, :])[:, 0]
    for _ in range(1, k):
        total = float(closest.sum())
        pick = rng.choice(sample.shape[0], p=closest / total) if total > 0 else rng.integers(sample.shape[0])
        centers.append(sample[pick])
        closest = np.minimum(closest, squared_distances(sample, sample[pick][None, :])[:, 0])
    return np.stack(centers).astype(np.float32)


def minibatch_epoch(
    x: Matrix,
    centers: Matrix,
    counts: npt.NDArray[np.float64],
    *,
    batch: int,
    rng: np.random.Generator,
    ctx: TrainContext,
) -> bool:
    """One shuffled pass of mini-batch updates in place; False when a stop was requested. In a team every
    member takes the same number of steps (the largest shard's), each on its own rows, and each step is
    the update of the members' batches together."""
    shuffled = x[rng.permutation(x.shape[0])]
    steps = max(ctx.team.gather(-(-shuffled.shape[0] // batch)))
    for step in range(steps):
        ctx.team.agree_on_stop()
        if ctx.stop.requested:
            return False
        chunk = shuffled[step * batch : (step + 1) * batch]  # empty once this member's rows are done
        hits, sums = _cluster_totals(chunk, centers, ctx.team)
        counts += hits
        moved = hits > 0
        # Sculley's per-center rate 1/count, applied to the batch mean of the center's points.
        rate = (hits[moved] / counts[moved])[:, None]
        centers[moved] += (rate * (sums[moved] / hits[moved][:, None] - centers[moved])).astype(np.float32)
    return True


def _cluster_totals(
    x: Matrix, centers: Matrix, team: Team, nearest: npt.NDArray[np.int64] | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Points per center and the sum of their coordinates, over every member's `x`."""
    k, width = centers.shape
    if nearest is None:
        nearest = squared_distances(x, centers).argmin(axis=1) if x.shape[0] else np.zeros(0, np.int64)
    totals = np.zeros(k * (width + 1), np.float64)
    totals[:k] = np.bincount(nearest, minlength=k)
    sums = totals[k:].reshape(k, width)
    np.add.at(sums, nearest, x)
    team.sum(totals)
    return totals[:k], totals[k:].reshape(k, width)


def lloyd(x: Matrix, centers: Matrix, config: Settings, ctx: TrainContext) -> Matrix:
    """Full-data Lloyd iterations until the relative MSD improvement falls below the tolerance."""
    previous = np.inf
    for _ in range(config.lloyd_max_iter):
        ctx.team.agree_on_stop()
        if ctx.stop.requested:
            break
        nearest, distance = assign(x, centers)
        msd = _mean(distance, ctx.team)
        if previous < np.inf and previous - msd <= config.lloyd_tol * previous:
            break
        previous = msd
        hits, sums = _cluster_totals(x, centers, ctx.team, nearest)
        occupied = hits > 0
        centers[occupied] = (sums[occupied] / hits[occupied][:, None]).astype(np.float32)
        # An empty cluster restarts at the point worst served by the others (of any member's rows).
        empty = np.flatnonzero(~occupied)
        if empty.size:
            centers[empty] = _worst_served(x, distance, count=empty.size, team=ctx.team)
    return centers


def _worst_served(x: Matrix, distance: Matrix, *, count: int, team: Team) -> Matrix:
    """The `count` rows farthest from their centers among every member's rows, farthest first."""
    mine = np.argsort(-distance, kind="stable")[:count]
    candidates = team.gather((distance[mine], x[mine]))
    distances = np.concatenate([d for d, _ in candidates])
    rows = np.concatenate([r for _, r in candidates])
    return rows[np.argsort(-distances, kind="stable")[:count]]


def _mean(distance: Matrix, team: Team) -> float:
    return data_parallel.mean_over_rows(
        {"mean": float(distance.mean()) if distance.size else 0.0}, rows=int(distance.size), team=team
    )["mean"]


def train(ctx: TrainContext) -> TrainResult:
    raw = Hyperparameters(ctx.hyperparameters, algorithm=ALGORITHM, known=KNOWN, ignored=IGNORED)
    config = settings(raw)
    _eval_metrics(raw)
    for name in raw.ignored:
        ctx.log(f"kmeans: hyperparameter {name} is accepted but not implemented by sagelite; ignored")
    x = _read(prep.training_channel(ctx, ALGORITHM), config, ctx)
    rows = sum(ctx.team.gather(x.shape[0]))
    if rows < config.k:
        raise DataError(f"k={config.k} clusters need at least as many rows; channel 'train' has {rows}")
    validation = _read_optional(ctx.channel("validation"), config, ctx, x.shape[1])
    test = _read_optional(ctx.channel("test"), config, ctx, x.shape[1])
    rng = np.random.default_rng(config.seed)  # the same draws on every member
    centers = initial_centers(_pooled_sample(x, config, ctx.team), config.k, config.init_method, rng)
    own_rng = rng if ctx.team.size == 1 else np.random.default_rng([config.seed, ctx.team.rank])
    counts = np.zeros(config.k, np.float64)
    epoch, final = 0, {}
    for epoch in range(1, config.epochs + 1):
        if not minibatch_epoch(x, centers, counts, batch=config.batch_size, rng=own_rng, ctx=ctx):
            break
        final = _msd(x, validation, centers, ctx.team)
        ctx.metrics(final, epoch=epoch)
    if config.lloyd_max_iter and not ctx.stop.requested:
        centers = lloyd(x, centers, config, ctx)
        final = _msd(x, validation, centers, ctx.team)
        ctx.metrics(final)
    if test is not None:
        distance = assign(test, centers)[1]
        msd = _mean(distance, ctx.team)
        ctx.metrics({"test:msd": msd, "test:ssd": msd * sum(ctx.team.gather(distance.size))})
    if ctx.writes_model:
        save(ctx.model_dir, centers)
    return TrainResult(ALGORITHM, epoch, False, ctx.stop.requested, final)


def _pooled_sample(x: Matrix, config: Settings, team: Team) -> Matrix:
    """The rows the initial centers are chosen from: all of `x` alone; in a team, a sample of each
    member's rows (at least k, or all it has), gathered in rank order, the same on every member."""
    if team.size == 1:
        return x
    take = min(x.shape[0], max(config.k, _KMEANS_PP_SAMPLE // team.size))
    picked = np.random.default_rng([config.seed, team.rank]).choice(x.shape[0], size=take, replace=False)
    return np.concatenate(team.gather(x[np.sort(picked)]))


def _eval_metrics(raw: Hyperparameters) -> None:
    names = raw.text("eval_metrics", "msd").strip("[]").replace('"', "").replace("'", "")
    unknown = {name.strip() for name in names.split(",")} - {"msd", "ssd"}
    if unknown:
        raise HyperparameterError(
            f"hyperparameter eval_metrics: unknown metric(s) {sorted(unknown)}; use msd, ssd"
        )


def _msd(x: Matrix, validation: Matrix | None, centers: Matrix, team: Team) -> dict[str, float]:
    values = {"train:msd": _mean(assign(x, centers)[1], team)}
    if validation is not None:
        values["validation:msd"] = _mean(assign(validation, centers)[1], team)
    return values


def _read(channel: Channel, config: Settings, ctx: TrainContext) -> Matrix:
    """This member's rows of the channel's features (all of them for one VM alone)."""
    table = prep.read_channel(channel, log=ctx.log, label_columns=0)
    table = data_parallel.own_part(table, channel=channel, team=ctx.team, log=ctx.log)
    size = data.label_size(channel.content_type)
    size = _label_columns(table.width, config.feature_dim) if size is None else size
    if size not in (0, 1):
        raise DataError(f"channel {channel.name!r}: label_size={size} is not supported (use 0 or 1)")
    features: Matrix = np.ascontiguousarray(table.features[:, size:])
    if features.shape[1] == 0:
        raise DataError(f"channel {channel.name!r} has no feature columns")
    if config.feature_dim is not None and features.shape[1] != config.feature_dim:
        raise DataError(
            f"feature_dim={config.feature_dim} but channel {channel.name!r} has {features.shape[1]}"
        )
    return features


def _label_columns(width: int, feature_dim: int | None) -> int:
    """Without label_size: a column more than feature_dim is a label; without feature_dim there is none."""
    if feature_dim is None or width == feature_dim:
        return 0
    if width == feature_dim + 1:
        return 1
    raise DataError(f"feature_dim={feature_dim} but the channel has {width} columns")


def _read_optional(channel: Channel | None, config: Settings, ctx: TrainContext, width: int) -> Matrix | None:
    if channel is None:
        return None
    features = _read(channel, config, ctx)
    if features.shape[1] != width:
        raise DataError(f"channel {channel.name!r} has {features.shape[1]} features; 'train' has {width}")
    return features


def save(model_dir: Path, centers: Matrix) -> None:
    meta = {
        "algorithm": ALGORITHM,
        "k": int(centers.shape[0]),
        "input_dim": int(centers.shape[1]),
        "apply": "closest_cluster = argmin_j sum((x - centers[j]) ** 2); features are used unscaled",
    }
    modelio.save(model_dir, meta=meta, arrays={"centers": centers.copy()})


def predict(model_dir: Path, x: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The closest cluster's index per row (the real algorithm's `closest_cluster`)."""
    return assign(np.atleast_2d(np.asarray(x, np.float32)), _centers(model_dir))[0]


def distances(model_dir: Path, x: npt.ArrayLike) -> Matrix:
    """The distance to the closest cluster per row (the real algorithm's `distance_to_cluster`)."""
    return np.sqrt(assign(np.atleast_2d(np.asarray(x, np.float32)), _centers(model_dir))[1])


def _centers(model_dir: Path) -> Matrix:
    arrays: dict[str, Any] = modelio.load(model_dir, algorithm=ALGORITHM)[1]
    centers: Matrix = arrays["centers"].astype(np.float32)
    return centers
