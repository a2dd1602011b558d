"""`mlp`: a dense neural network classifier (ReLU hidden layers, sigmoid or softmax output, Adam).

Hyperparameters: `hidden_layers` ("64,32"), `epochs` (10), `mini_batch_size` or `batch_size` (128),
`learning_rate` (0.001), `seed` (0), `early_stopping_patience` (0 = off; else stop after that many
epochs without a lower validation loss and keep the best epoch's weights), `validation_fraction` (0.1;
held out of `train` when there is no `validation` channel), `num_classes` (labels then must be
0 … num_classes-1), `feature_dim` (checked against the data when given).

Two classes → one sigmoid output and binary cross-entropy; more (or `num_classes` > 2) → softmax and
categorical cross-entropy. Hidden layers use He initialization, the output layer Glorot; biases start at 0.
Everything is float32 and vectorized over the mini-batch, with buffers reused across steps.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.training import blas, builtin_algorithms, data_parallel, losses, modelio, prep
from app.training.context import StopFlag, TrainContext, TrainResult
from app.training.data import Features, Table
from app.training.errors import HyperparameterError
from app.training.optim import Adam, FlatParameters, Optimizer, Vector
from app.training.params import Hyperparameters
from app.training.team import Team

ALGORITHM = builtin_algorithms.MLP.name
KNOWN = [
    "hidden_layers",
    "epochs",
    "mini_batch_size",
    "batch_size",
    "learning_rate",
    "seed",
    "early_stopping_patience",
    "validation_fraction",
    "num_classes",
    "feature_dim",
]
_EVAL_CHUNK = 8192

Matrix = npt.NDArray[np.float32]
Loss = Callable[[Matrix, Matrix], tuple[float, Matrix]]


@dataclass(frozen=True)
class Settings:
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    patience: int
    validation_fraction: float
    num_classes: int | None
    feature_dim: int | None


def settings(raw: Hyperparameters) -> Settings:
    batch = raw.integer("batch_size", 128, minimum=1)
    fraction = raw.number("validation_fraction", 0.1, minimum=0.0)
    if fraction >= 1.0:
        raise HyperparameterError(f"hyperparameter validation_fraction={fraction:g}: must be below 1")
    return Settings(
        hidden=raw.int_list("hidden_layers", (64, 32)),
        epochs=raw.integer("epochs", 10, minimum=1),
        batch_size=raw.integer("mini_batch_size", batch, minimum=1),
        learning_rate=raw.number("learning_rate", 0.001, minimum=0.0),
        seed=raw.integer("seed", 0),
        patience=raw.integer("early_stopping_patience", 0, minimum=0),
        validation_fraction=fraction,
        num_classes=raw.optional_integer("num_classes", minimum=2),
        feature_dim=raw.optional_integer("feature_dim", minimum=1),
    )


class Network:
    """Dense layers over one flat parameter buffer; activations kept in reusable per-batch buffers."""

    def __init__(self, sizes: Sequence[int], rng: np.random.Generator) -> None:
        self.sizes = tuple(sizes)
        shapes = [shape for n_in, n_out in itertools.pairwise(sizes) for shape in ((n_in, n_out), (n_out,))]
        self.params = FlatParameters(shapes)
        self.weights, self.biases = self.params.tensors[0::2], self.params.tensors[1::2]
        self._grad_w, self._grad_b = self.params.gradients[0::2], self.params.gradients[1::2]
        self._buffers: list[Matrix] = []
        self._deltas: list[Matrix] = []
        for index, weight in enumerate(self.weights):
            n_in, n_out = weight.shape
            last = index == len(self.weights) - 1
            # He for ReLU layers, Glorot for the (sigmoid/softmax) output layer.
            limit = np.sqrt(6.0 / (n_in + n_out)) if last else np.sqrt(6.0 / n_in)
            weight[...] = rng.uniform(-limit, limit, size=weight.shape)

    def largest_product(self, batch: int) -> int:
        """Multiply-adds of the largest matrix product in a training step of `batch` rows."""
        return batch * max(weight.size for weight in self.weights)

    def logits(self, x: Features) -> Matrix:
        """Outputs before the final sigmoid/softmax, computed in chunks to bound memory."""
        chunks = [self._forward_alloc(x[i : i + _EVAL_CHUNK]) for i in range(0, x.shape[0], _EVAL_CHUNK)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.sizes[-1]), np.float32)

    def _forward_alloc(self, h: Matrix) -> Matrix:
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ weight + bias
            if index < len(self.weights) - 1:
                np.maximum(h, 0.0, out=h)
        return h

    def train_step(self, x: Features, target: Matrix, loss: Loss, optimizer: Optimizer) -> float:
        activations = self._forward(x)
        value, delta = loss(activations[-1], target)
        self._backward(x, activations, delta)
        optimizer.step(self.params.values, self.params.grads)
        return value

    def _forward(self, x: Features) -> list[Matrix]:
        rows = x.shape[0]
        if not self._buffers or self._buffers[0].shape[0] < rows:
            self._buffers = [np.empty((rows, n), np.float32) for n in self.sizes[1:]]
            self._deltas = [np.empty((rows, n), np.float32) for n in self.sizes[1:-1]]
        h, out = x, []
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            nxt = self._buffers[index][:rows]
            np.matmul(h, weight, out=nxt)
            nxt += bias
            if index < len(self.weights) - 1:
                np.maximum(nxt, 0.0, out=nxt)
            out.append(nxt)
            h = nxt
        return out

    def _backward(self, x: Features, activations: list[Matrix], delta: Matrix) -> None:
        for index in range(len(self.weights) - 1, -1, -1):
            below = activations[index - 1] if index else x
            np.matmul(below.T, delta, out=self._grad_w[index])
            np.sum(delta, axis=0, out=self._grad_b[index])
            if index:
                grad_below = self._deltas[index - 1][: x.shape[0]]
                np.matmul(delta, self.weights[index].T, out=grad_below)
                grad_below *= below > 0  # ReLU's derivative
                delta = grad_below


@dataclass(frozen=True)
class Problem:
    """Standardized features and targets: (n, 1) 0/1 for binary, (n, k) one-hot for multiclass."""

    x: Features
    target: Matrix
    classes: npt.NDArray[np.float64]

    @property
    def binary(self) -> bool:
        return self.classes.size == 2

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        return self.target[:, 0].astype(np.int64) if self.binary else self.target.argmax(axis=1)


def _problem(
    table: Table, classes: npt.NDArray[np.float64], scaler: prep.Standardizer, channel: str
) -> Problem:
    index = prep.encode(prep.require_labels(table, channel=channel), classes, channel=channel)
    return Problem(scaler.apply(table.features), prep.class_targets(index, classes.size), classes)


def _loss(problem: Problem) -> Loss:
    return losses.logistic if problem.binary else losses.softmax_cross_entropy


def evaluate(network: Network, problem: Problem) -> tuple[float, float]:
    """(mean loss, accuracy) of the network on a whole problem."""
    logits = network.logits(problem.x)
    loss, _ = _loss(problem)(logits, problem.target)
    predicted = (logits[:, 0] > 0).astype(np.int64) if problem.binary else logits.argmax(axis=1)
    return loss, float((predicted == problem.labels).mean())


def _evaluate(team: Team, network: Network, problem: Problem) -> tuple[float, float]:
    """`evaluate` over every team member's rows of the problem."""
    loss, accuracy = evaluate(network, problem)
    mean = data_parallel.mean_over_rows(
        {"loss": loss, "accuracy": accuracy}, rows=int(problem.x.shape[0]), team=team
    )
    return mean["loss"], mean["accuracy"]


def run_epoch(
    network: Network,
    optimizer: Optimizer,
    problem: Problem,
    *,
    batch: int,
    rng: np.random.Generator,
    stop: StopFlag,
) -> float | None:
    """One shuffled pass; the mean mini-batch loss, or None when a stop was requested mid-way."""
    rows = int(problem.x.shape[0])
    order = rng.permutation(rows)
    x, target, loss = problem.x[order], problem.target[order], _loss(problem)
    total = 0.0
    with blas.limit_for(network.largest_product(batch)):
        for start in range(0, rows, batch):
            if stop.requested:
                return None
            end = start + batch
            step_loss = network.train_step(x[start:end], target[start:end], loss, optimizer)
            total += step_loss * (min(end, rows) - start)
    return total / rows


def train(ctx: TrainContext) -> TrainResult:
    raw = Hyperparameters(ctx.hyperparameters, algorithm=ALGORITHM, known=KNOWN)
    config = settings(raw)
    train_set, validation_set, test_set = _read(ctx, config)
    labels = prep.require_labels(train_set, channel="train")
    classes = data_parallel.classes(labels, team=ctx.team, num_classes=config.num_classes)
    scaler = data_parallel.standardizer(train_set.features, team=ctx.team)
    train_p = _problem(data_parallel.evened(train_set, team=ctx.team, log=ctx.log), classes, scaler, "train")
    valid_p = _problem(validation_set, classes, scaler, "validation") if validation_set else None
    rng = np.random.default_rng(config.seed)
    out = 1 if train_p.binary else classes.size
    network = Network([train_set.width, *config.hidden, out], rng)
    result = _fit(ctx, config, network, train_p, valid_p, rng)
    if test_set is not None:
        test_loss, test_accuracy = _evaluate(ctx.team, network, _problem(test_set, classes, scaler, "test"))
        ctx.metrics({"test:loss": test_loss, "test:accuracy": test_accuracy})
    if ctx.writes_model:
        save(ctx.model_dir, network, scaler, classes)
        ctx.log(f"mlp: model written to {ctx.model_dir.name}/ after {result.epochs} epoch(s)")
    return result


def _read(ctx: TrainContext, config: Settings) -> tuple[Table, Table | None, Table | None]:
    channel = prep.training_channel(ctx, ALGORITHM)
    table = prep.read_channel(channel, log=ctx.log)
    prep.check_feature_dim(table, config.feature_dim)
    table = data_parallel.own_part(table, channel=channel, team=ctx.team, log=ctx.log)
    validation = prep.read_optional(ctx.channel("validation"), width=table.width, log=ctx.log)
    test = prep.read_optional(ctx.channel("test"), width=table.width, log=ctx.log)
    if validation is None:
        table, validation = prep.split(table, fraction=config.validation_fraction, seed=config.seed)
    data_parallel.same_everywhere(validation is not None, team=ctx.team, what="there are validation rows")
    return table, validation, test


def _fit(
    ctx: TrainContext,
    config: Settings,
    network: Network,
    train_p: Problem,
    valid_p: Problem | None,
    rng: np.random.Generator,
) -> TrainResult:
    optimizer = ctx.team.averaged(Adam(network.params.values.size, lr=config.learning_rate))
    best_loss, best_values, waited, epoch, final = np.inf, None, 0, 0, {}
    for epoch in range(1, config.epochs + 1):
        train_loss = run_epoch(network, optimizer, train_p, batch=config.batch_size, rng=rng, stop=ctx.stop)
        if train_loss is None:
            break
        rows = int(train_p.x.shape[0])
        final = data_parallel.mean_over_rows({"train:loss": train_loss}, rows=rows, team=ctx.team)
        if valid_p is not None:
            valid_loss, accuracy = _evaluate(ctx.team, network, valid_p)
            final |= {"validation:loss": valid_loss, "validation:accuracy": accuracy}
            if valid_loss < best_loss:
                best_loss, best_values, waited = valid_loss, network.params.values.copy(), 0
            else:
                waited += 1
        ctx.metrics(final, epoch=epoch)
        if config.patience and waited >= config.patience:
            ctx.log(f"mlp: early stop after epoch {epoch}: no lower validation loss for {waited} epoch(s)")
            break
    if config.patience and best_values is not None:
        network.params.values[...] = best_values
    stopped_early = bool(config.patience) and waited >= config.patience
    return TrainResult(ALGORITHM, epoch, stopped_early, ctx.stop.requested, final)


def save(
    model_dir: Path, network: Network, scaler: prep.Standardizer, classes: npt.NDArray[np.float64]
) -> None:
    count = len(network.weights)
    output = "sigmoid" if classes.size == 2 else "softmax"
    arrays: dict[str, Vector] = {}
    for index, (weight, bias) in enumerate(zip(network.weights, network.biases, strict=True)):
        arrays |= {f"W{index}": weight.copy(), f"b{index}": bias.copy()}
    meta = {
        "algorithm": ALGORITHM,
        "task": "binary_classifier" if classes.size == 2 else "multiclass_classifier",
        "input_dim": network.sizes[0],
        "layers": [
            {"units": units, "activation": output if index == count - 1 else "relu"}
            for index, units in enumerate(network.sizes[1:])
        ],
        "standardize": scaler.to_json(),
        "classes": [float(c) for c in classes],
        "apply": "x = (x - standardize.mean) / standardize.std; for each layer i: "
        "x = activation(x @ W{i} + b{i}); sigmoid output = P(classes[1]); softmax column j = P(classes[j])",
    }
    modelio.save(model_dir, meta=meta, arrays=arrays)


def predict_proba(model_dir: Path, x: npt.ArrayLike) -> Matrix:
    """P(classes[1]) per row for a binary model, (rows, classes) probabilities for a multiclass one."""
    meta, arrays = modelio.load(model_dir, algorithm=ALGORITHM)
    return _probabilities(meta, arrays, x)


def predict(model_dir: Path, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The predicted class value (as found in the training labels) per row."""
    meta, arrays = modelio.load(model_dir, algorithm=ALGORITHM)
    probabilities = _probabilities(meta, arrays, x)
    if probabilities.ndim == 1:
        return prep.decode(meta["classes"], (probabilities > 0.5).astype(np.int64))
    return prep.decode(meta["classes"], probabilities.argmax(axis=1))


def _probabilities(meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]], x: npt.ArrayLike) -> Matrix:
    h = prep.Standardizer.from_json(meta["standardize"]).apply(np.atleast_2d(np.asarray(x, np.float32)))
    layers = meta["layers"]
    for index, layer in enumerate(layers):
        h = h @ arrays[f"W{index}"] + arrays[f"b{index}"]
        if layer["activation"] == "relu":
            h = np.maximum(h, 0.0)
    return losses.sigmoid(h)[:, 0] if layers[-1]["activation"] == "sigmoid" else losses.softmax(h)
