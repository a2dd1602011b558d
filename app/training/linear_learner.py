"""`linear-learner`: linear models trained by mini-batch SGD or Adam, with SageMaker's hyperparameter names.

`predictor_type` (required): `binary_classifier` (logistic loss, threshold 0.5), `multiclass_classifier`
(softmax loss) or `regressor` (`squared_loss`, or `absolute_loss`). Other hyperparameters and defaults
follow the real algorithm: `feature_dim` (auto), `mini_batch_size` (1000), `epochs` (15), `learning_rate`
(auto: 0.01 for adam, 0.1 for sgd), `optimizer` (auto = adam, sgd), `beta_1`, `beta_2`, `momentum`,
`l1` and `wd` (auto = 0), `use_bias` (true), `normalize_data` (true), `normalize_label` (auto: true for
regressors), `num_classes` (inferred when absent), `early_stopping_patience` (3) and
`early_stopping_tolerance` (0.001, relative) on the validation loss — or the training loss without a
`validation` channel — keeping the best epoch's model. `seed` (0) is a sagelite addition. Names the real
algorithm accepts for features sagelite lacks (e.g. `num_models`) are logged and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.training import blas, builtin_algorithms, data_parallel, losses, modelio, prep
from app.training.context import TrainContext, TrainResult
from app.training.data import Table
from app.training.errors import DataError, HyperparameterError
from app.training.optim import Adam, FlatParameters, Optimizer, Sgd
from app.training.params import Hyperparameters
from app.training.team import Team

ALGORITHM = builtin_algorithms.LINEAR_LEARNER.name
PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
_QUALITY = {
    "binary_classifier": "binary_classification_accuracy",
    "multiclass_classifier": "multiclass_accuracy",
    "regressor": "mse",
}
KNOWN = (
    "predictor_type",
    "feature_dim",
    "mini_batch_size",
    "epochs",
    "learning_rate",
    "optimizer",
    "beta_1",
    "beta_2",
    "momentum",
    "l1",
    "wd",
    "use_bias",
    "normalize_data",
    "normalize_label",
    "loss",
    "num_classes",
    "early_stopping_patience",
    "early_stopping_tolerance",
    "seed",
    "split",
)
IGNORED = (
    "num_models",
    "num_calibration_samples",
    "init_method",
    "init_scale",
    "init_sigma",
    "init_bias",
    "unbias_data",
    "unbias_label",
    "num_point_for_scaler",
    "margin",
    "quantile",
    "loss_insensitivity",
    "huber_delta",
    "lr_scheduler_step",
    "lr_scheduler_factor",
    "lr_scheduler_minimum_lr",
    "bias_lr_mult",
    "bias_wd_mult",
    "binary_classifier_model_selection_criteria",
    "target_recall",
    "target_precision",
    "positive_example_weight_mult",
    "accuracy_top_k",
    "f_beta",
    "balance_multiclass_weights",
    "split",
)
_LOSSES = {
    "binary_classifier": ("logistic",),
    "multiclass_classifier": ("softmax_loss",),
    "regressor": ("squared_loss", "absolute_loss"),
}
Matrix = npt.NDArray[np.float32]
_LOSS_FUNCTIONS: dict[str, Callable[[Matrix, Matrix], tuple[float, Matrix]]] = {
    "logistic": losses.logistic,
    "softmax_loss": losses.softmax_cross_entropy,
    "squared_loss": losses.squared,
    "absolute_loss": losses.absolute,
}


@dataclass(frozen=True)
class Settings:
    predictor_type: str
    feature_dim: int | None
    batch_size: int
    epochs: int
    optimizer: str
    learning_rate: float
    beta_1: float
    beta_2: float
    momentum: float
    l1: float
    wd: float
    use_bias: bool
    normalize_data: bool
    normalize_label: bool
    loss: str
    num_classes: int | None
    patience: int
    tolerance: float
    seed: int


def settings(raw: Hyperparameters) -> Settings:
    if "predictor_type" not in raw:
        raise HyperparameterError("linear-learner needs the hyperparameter predictor_type")
    predictor = raw.choice("predictor_type", "", PREDICTOR_TYPES)
    optimizer = raw.choice("optimizer", "auto", ("auto", "adam", "sgd"))
    optimizer = "adam" if optimizer == "auto" else optimizer
    loss = raw.choice("loss", "auto", ("auto", *_LOSSES[predictor]))
    feature_dim = raw.text("feature_dim", "auto")
    return Settings(
        predictor_type=predictor,
        feature_dim=None if feature_dim.lower() == "auto" else raw.integer("feature_dim", 0, minimum=1),
        batch_size=raw.integer("mini_batch_size", 1000, minimum=1),
        epochs=raw.integer("epochs", 15, minimum=1),
        optimizer=optimizer,
        learning_rate=raw.auto_number("learning_rate", 0.01 if optimizer == "adam" else 0.1, minimum=0.0),
        beta_1=raw.auto_number("beta_1", 0.9, minimum=0.0),
        beta_2=raw.auto_number("beta_2", 0.999, minimum=0.0),
        momentum=raw.auto_number("momentum", 0.0, minimum=0.0),
        l1=raw.auto_number("l1", 0.0, minimum=0.0),
        wd=raw.auto_number("wd", 0.0, minimum=0.0),
        use_bias=raw.boolean("use_bias", True),
        normalize_data=raw.boolean("normalize_data", True),
        normalize_label=_normalize_label(raw, predictor),
        loss=_LOSSES[predictor][0] if loss == "auto" else loss,
        num_classes=raw.optional_integer("num_classes", minimum=2) if predictor != "regressor" else None,
        patience=raw.integer("early_stopping_patience", 3, minimum=1),
        tolerance=raw.number("early_stopping_tolerance", 0.001, minimum=0.0),
        seed=raw.integer("seed", 0),
    )


def _normalize_label(raw: Hyperparameters, predictor: str) -> bool:
    if raw.text("normalize_label", "auto").lower() == "auto":
        return predictor == "regressor"
    value = raw.boolean("normalize_label", False)
    if value and predictor != "regressor":
        raise HyperparameterError("normalize_label can only be true for predictor_type=regressor")
    return value


@dataclass(frozen=True)
class Problem:
    """Standardized features with targets: class indices/one-hot, or (normalized) regression values."""

    x: Matrix
    target: Matrix
    labels: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Encoding:
    """How labels and features map to the model's inputs and outputs (stored in model.json)."""

    scaler: prep.Standardizer
    classes: npt.NDArray[np.float64] | None
    label_mean: float
    label_std: float

    def problem(self, table: Table, channel: str) -> Problem:
        labels = prep.require_labels(table, channel=channel)
        x = self.scaler.apply(table.features)
        if self.classes is None:
            target = ((labels - self.label_mean) / self.label_std).astype(np.float32)[:, None]
        else:
            target = prep.class_targets(prep.encode(labels, self.classes, channel=channel), self.classes.size)
        return Problem(x, target, labels)


def _encoding(table: Table, config: Settings, team: Team) -> Encoding:
    """Fitted on every team member's training rows together."""
    labels = prep.require_labels(table, channel="train")
    width = table.width
    scaler = (
        data_parallel.standardizer(table.features, team=team)
        if config.normalize_data
        else prep.Standardizer.identity(width)
    )
    if config.predictor_type == "regressor":
        mean, std = _label_moments(labels, team) if config.normalize_label else (0.0, 1.0)
        return Encoding(scaler, None, mean, std if std > 1e-12 else 1.0)
    classes = data_parallel.classes(labels, team=team, num_classes=config.num_classes)
    if config.predictor_type == "binary_classifier" and classes.size != 2:
        raise DataError(f"binary_classifier needs two classes; the training labels have {classes.size}")
    return Encoding(scaler, classes, 0.0, 1.0)


def _label_moments(labels: npt.NDArray[np.float64], team: Team) -> tuple[float, float]:
    if team.size == 1:
        return float(labels.mean()), float(labels.std())
    mean, std = data_parallel.moments(labels[:, None], team=team)
    return float(mean[0]), float(std[0])


class LinearModel:
    """x @ W + b over a flat parameter buffer, with L2 (`wd`) and proximal L1 (`l1`) regularization."""

    def __init__(self, width: int, outputs: int, config: Settings, *, team: Team) -> None:
        self.config = config
        self.params = FlatParameters([(width, outputs), (outputs,)])
        self.weights, self.bias = self.params.tensors
        self._grad_w, self._grad_b = self.params.gradients
        size = self.params.values.size
        self.optimizer: Optimizer = team.averaged(
            Adam(size, lr=config.learning_rate, beta1=config.beta_1, beta2=config.beta_2)
            if config.optimizer == "adam"
            else Sgd(size, lr=config.learning_rate, momentum=config.momentum)
        )

    def outputs(self, x: Matrix) -> Matrix:
        result: Matrix = x @ self.weights + self.bias
        return result

    def step(self, x: Matrix, target: Matrix) -> float:
        loss, delta = _LOSS_FUNCTIONS[self.config.loss](self.outputs(x), target)
        np.matmul(x.T, delta, out=self._grad_w)
        if self.config.wd:
            self._grad_w += self.config.wd * self.weights
        if self.config.use_bias:
            np.sum(delta, axis=0, out=self._grad_b)
        self.optimizer.step(self.params.values, self.params.grads)
        if self.config.l1:
            shrink = self.config.learning_rate * self.config.l1
            self.weights[...] = np.sign(self.weights) * np.maximum(np.abs(self.weights) - shrink, 0.0)
        return loss


def evaluate(model: LinearModel, problem: Problem, encoding: Encoding, prefix: str) -> dict[str, float]:
    """objective_loss plus the predictor type's quality metric, in the labels' own units."""
    outputs = model.outputs(problem.x)
    loss, _ = _LOSS_FUNCTIONS[model.config.loss](outputs, problem.target)
    quality = _QUALITY[model.config.predictor_type]
    if encoding.classes is None:
        predicted = outputs[:, 0] * encoding.label_std + encoding.label_mean
        scale = encoding.label_std**2 if model.config.loss == "squared_loss" else encoding.label_std
        mse = float(np.mean((predicted - problem.labels) ** 2))
        return {f"{prefix}:objective_loss": loss * scale, f"{prefix}:{quality}": mse}
    index = (outputs[:, 0] > 0).astype(np.int64) if encoding.classes.size == 2 else outputs.argmax(axis=1)
    accuracy = float(np.mean(encoding.classes[index] == problem.labels))
    return {f"{prefix}:objective_loss": loss, f"{prefix}:{quality}": accuracy}


def train(ctx: TrainContext) -> TrainResult:
    raw = Hyperparameters(ctx.hyperparameters, algorithm=ALGORITHM, known=KNOWN, ignored=IGNORED)
    config = settings(raw)
    for name in raw.ignored:
        ctx.log(f"linear-learner: hyperparameter {name} is accepted but not implemented by sagelite; ignored")
    channel = prep.training_channel(ctx, ALGORITHM)
    table = prep.read_channel(channel, log=ctx.log)
    prep.check_feature_dim(table, config.feature_dim)
    table = data_parallel.own_part(table, channel=channel, team=ctx.team, log=ctx.log)
    validation = prep.read_optional(ctx.channel("validation"), width=table.width, log=ctx.log)
    test = prep.read_optional(ctx.channel("test"), width=table.width, log=ctx.log)
    encoding = _encoding(table, config, ctx.team)
    outputs = 1 if encoding.classes is None or encoding.classes.size == 2 else encoding.classes.size
    model = LinearModel(table.width, outputs, config, team=ctx.team)
    valid_p = encoding.problem(validation, "validation") if validation else None
    train_p = encoding.problem(data_parallel.evened(table, team=ctx.team, log=ctx.log), "train")
    result = _fit(ctx, model, train_p, valid_p, encoding)
    if test is not None:
        ctx.metrics(_evaluate(ctx.team, model, encoding.problem(test, "test"), encoding, "test"))
    if ctx.writes_model:
        save(ctx.model_dir, model, encoding)
        ctx.log(f"linear-learner: model written after {result.epochs} epoch(s)")
    return result


def _evaluate(
    team: Team, model: LinearModel, problem: Problem, encoding: Encoding, prefix: str
) -> dict[str, float]:
    """`evaluate` over every team member's rows of the problem."""
    values = evaluate(model, problem, encoding, prefix)
    return data_parallel.mean_over_rows(values, rows=int(problem.x.shape[0]), team=team)


def _fit(
    ctx: TrainContext, model: LinearModel, train_p: Problem, valid_p: Problem | None, encoding: Encoding
) -> TrainResult:
    config = model.config
    rng = np.random.default_rng(config.seed)
    loss_scale = encoding.label_std**2 if config.loss == "squared_loss" else encoding.label_std
    best, reference, best_values, waited, epoch, final = np.inf, np.inf, None, 0, 0, {}
    for epoch in range(1, config.epochs + 1):
        train_loss = _epoch(ctx, model, train_p, rng)
        if train_loss is None:
            break
        final = data_parallel.mean_over_rows(
            {"train:objective_loss": train_loss * loss_scale}, rows=int(train_p.x.shape[0]), team=ctx.team
        )
        if valid_p is not None:
            final |= _evaluate(ctx.team, model, valid_p, encoding, "validation")
        ctx.metrics(final, epoch=epoch)
        watched = final["validation:objective_loss" if valid_p is not None else "train:objective_loss"]
        if watched < best:
            best, best_values = watched, model.params.values.copy()
        if watched < reference * (1.0 - config.tolerance):
            reference, waited = watched, 0
        else:
            waited += 1
        if waited >= config.patience:
            ctx.log(f"linear-learner: early stop after epoch {epoch}; keeping the best epoch's model")
            break
    if best_values is not None:
        model.params.values[...] = best_values
    return TrainResult(ALGORITHM, epoch, waited >= config.patience, ctx.stop.requested, final)


def _epoch(ctx: TrainContext, model: LinearModel, problem: Problem, rng: np.random.Generator) -> float | None:
    rows, batch = int(problem.x.shape[0]), model.config.batch_size
    order = rng.permutation(rows)
    x, target, total = problem.x[order], problem.target[order], 0.0
    # One BLAS thread unless the products are large (see app.training.blas).
    with blas.limit_for(batch * int(model.weights.size)):
        for start in range(0, rows, batch):
            if ctx.stop.requested:
                return None
            end = start + batch
            total += model.step(x[start:end], target[start:end]) * (min(end, rows) - start)
    return total / rows


def save(model_dir: Path, model: LinearModel, encoding: Encoding) -> None:
    config = model.config
    meta = {
        "algorithm": ALGORITHM,
        "predictor_type": config.predictor_type,
        "loss": config.loss,
        "input_dim": int(model.weights.shape[0]),
        "standardize": encoding.scaler.to_json(),
        "classes": None if encoding.classes is None else [float(c) for c in encoding.classes],
        "label_standardize": {"mean": encoding.label_mean, "std": encoding.label_std},
        "apply": "x = (x - standardize.mean) / standardize.std; z = x @ weights + bias; "
        "binary: P(classes[1]) = sigmoid(z); multiclass: softmax(z) over classes; "
        "regressor: z * label_standardize.std + label_standardize.mean",
    }
    modelio.save(model_dir, meta=meta, arrays={"weights": model.weights.copy(), "bias": model.bias.copy()})


def predict_scores(model_dir: Path, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The real algorithm's `score`: P(classes[1]), class probabilities (rows, k), or the regression value."""
    meta, arrays = modelio.load(model_dir, algorithm=ALGORITHM)
    return _scores(meta, arrays, x)


def predict(model_dir: Path, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The real algorithm's `predicted_label` for classifiers (a class value), the `score` for regressors."""
    meta, arrays = modelio.load(model_dir, algorithm=ALGORITHM)
    scores = _scores(meta, arrays, x)
    if meta["predictor_type"] == "regressor":
        return scores
    index = (scores > 0.5).astype(np.int64) if scores.ndim == 1 else scores.argmax(axis=1)
    return prep.decode(meta["classes"], index)


def _scores(
    meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]], x: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    features = prep.Standardizer.from_json(meta["standardize"]).apply(
        np.atleast_2d(np.asarray(x, np.float32))
    )
    z = features @ arrays["weights"] + arrays["bias"]
    if meta["predictor_type"] == "regressor":
        label = meta["label_standardize"]
        values: npt.NDArray[np.float64] = z[:, 0].astype(np.float64) * label["std"] + label["mean"]
        return values
    probabilities = losses.sigmoid(z)[:, 0] if z.shape[1] == 1 else losses.softmax(z)
    return probabilities.astype(np.float64)
