"""Data-parallel built-ins: each member's rows, what members agree on, averaged steps, one model (threads
as the members of an in-memory team, so no PyTorch or sockets are needed)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pytest

from app.runtime import contract
from app.training import data_parallel, kmeans, linear_learner, mlp, prep, thread_team
from app.training.context import Channel, TrainContext, TrainResult
from app.training.data import Table
from app.training.errors import ClientError, DataError
from app.training.optim import Vector
from app.training.stop import StopFlag
from app.training.team import AveragedSteps, Solo, Team, joined

Array = npt.NDArray[np.float64]
R = TypeVar("R")


def _together(size: int, work: Callable[[Team], R]) -> list[R]:
    """`work` run by every member of a thread team at once; results in rank order."""
    team = thread_team.members(size)
    with ThreadPoolExecutor(max_workers=size) as pool:
        return list(pool.map(work, team))


def _table(rows: int, width: int = 3, seed: int = 0) -> Table:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((rows, width)).astype(np.float32)
    return Table(features, np.arange(rows, dtype=np.float64), 0, 1)


@pytest.mark.parametrize(("rows", "size"), [(10, 2), (11, 3), (7, 7), (1000, 4)])
def test_rank_slices_cover_every_row_once_in_order(rows: int, size: int) -> None:
    parts = [np.arange(rows)[data_parallel.rank_slice(rows, rank=r, size=size)] for r in range(size)]
    assert np.array_equal(np.concatenate(parts), np.arange(rows))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_a_fully_replicated_channel_is_sliced_by_rank_and_a_sharded_one_kept(tmp_path: Path) -> None:
    table = _table(10)
    lines: list[str] = []
    replicated = Channel(name="train", path=tmp_path)
    sharded = Channel(name="train", path=tmp_path, distribution="ShardedByS3Key")
    parts = _together(2, lambda team: data_parallel.own_part(table, channel=replicated, team=team, log=print))
    assert [list(part.labels) for part in parts if part.labels is not None] == [
        [0, 1, 2, 3, 4],
        [5, 6, 7, 8, 9],
    ]
    kept = _together(
        2, lambda team: data_parallel.own_part(table, channel=sharded, team=team, log=lines.append)
    )
    assert all(part.rows == 10 for part in kept)
    assert sorted(lines) == [
        f"data parallel: rank {rank} of 2 trains on 10 rows of channel 'train': its ShardedByS3Key shard"
        for rank in (0, 1)
    ]
    assert data_parallel.own_part(table, channel=replicated, team=Solo(), log=lines.append) is table


def test_a_member_left_without_rows_is_a_data_error(tmp_path: Path) -> None:
    channel = Channel(name="train", path=tmp_path)
    with pytest.raises(DataError, match="leaves rank 0 no rows"):
        data_parallel.own_part(_table(1), channel=channel, team=thread_team.members(2)[0], log=print)


def test_shards_are_evened_out_to_the_largest_by_repeating_rows() -> None:
    tables = [_table(3), _table(5)]
    evened = _together(2, lambda team: data_parallel.evened(tables[team.rank], team=team, log=print))
    assert [t.rows for t in evened] == [5, 5]
    assert evened[0].labels is not None and list(evened[0].labels) == [0, 1, 2, 0, 1]
    assert evened[1] is tables[1]


def test_standardization_and_classes_are_those_of_the_union() -> None:
    rng = np.random.default_rng(1)
    features = [
        rng.normal(5.0, 2.0, (40, 3)).astype(np.float32),
        rng.normal(-1.0, 1.0, (60, 3)).astype(np.float32),
    ]
    labels = [np.zeros(40), np.array([1.0, 2.0] * 30)]  # rank 0 holds a single class
    scalers = _together(2, lambda team: data_parallel.standardizer(features[team.rank], team=team))
    whole = prep.Standardizer.fit(np.concatenate(features))
    for scaler in scalers:
        assert np.allclose(scaler.mean, whole.mean, atol=1e-5) and np.allclose(
            scaler.std, whole.std, atol=1e-5
        )
    found = _together(2, lambda team: data_parallel.classes(labels[team.rank], team=team, num_classes=None))
    assert [list(c) for c in found] == [[0.0, 1.0, 2.0]] * 2
    metrics = _together(
        2,
        lambda team: data_parallel.mean_over_rows(
            {"acc": [1.0, 0.5][team.rank]}, rows=[1, 3][team.rank], team=team
        ),
    )
    assert metrics == [{"acc": 0.625}] * 2


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[Vector] = []

    def step(self, values: Vector, grads: Vector) -> None:
        self.seen.append(grads.copy())


def test_averaged_steps_apply_the_mean_gradient_and_agree_on_a_stop() -> None:
    others = np.array([3.0, 5.0, 0.0], np.float32)  # another member's gradient, and its stop slot

    def team_sum(buffer: Vector) -> None:
        buffer += others

    inner, signalled, agreed = _Recorder(), StopFlag(), StopFlag()
    steps = AveragedSteps(inner, team_sum=team_sum, size=2, signalled=signalled, agreed=agreed)
    values = np.zeros(2, np.float32)
    steps.step(values, np.array([1.0, 1.0], np.float32))
    assert inner.seen[-1].tolist() == [2.0, 3.0] and not agreed.requested
    others[-1] = 1.0  # SIGTERM reached the other member: this one stops at the same step
    steps.step(values, np.array([1.0, 1.0], np.float32))
    assert agreed.requested and not signalled.requested


def _two_classes(rng: np.random.Generator, rows: int, *, share_of_1: float) -> tuple[Array, Array]:
    """Two overlapping Gaussian classes in 4 features; `share_of_1` of the rows are of class 1."""
    labels = (rng.random(rows) < share_of_1).astype(np.float64)
    centers = np.array([[-1.0, 0.5, 0.0, 0.0], [1.0, -0.5, 0.0, 0.0]])
    return centers[labels.astype(int)] + rng.normal(0.0, 1.2, (rows, 4)), labels


def _channel(directory: Path, x: Array, y: Array) -> None:
    directory.mkdir(parents=True)
    np.savetxt(directory / "part.csv", np.column_stack([y, x]), delimiter=",", fmt="%.6g")


def _train(
    train: Callable[[TrainContext], object], root: Path, hyperparameters: dict[str, str], team: Team
) -> list[str]:
    """Train with channels `root/train` (this member's shard) and `root/validation`; the log lines."""
    lines: list[str] = []
    channels = {
        name: Channel(name=name, path=root / name, distribution="ShardedByS3Key")
        for name in ("train", "validation")
    }
    model_dir = root / "model"
    model_dir.mkdir(exist_ok=True)
    train(
        TrainContext(
            model_dir=model_dir,
            hyperparameters=hyperparameters,
            channels=channels,
            emit=lines.append,
            team=team,
        )
    )
    return lines


def _last(lines: list[str], metric: str) -> float:
    values = [
        float(field.split("=")[1]) for line in lines for field in line.split() if field.startswith(metric)
    ]
    assert values, f"{metric} was never printed"
    return values[-1]


@pytest.mark.parametrize(
    ("train", "hyperparameters", "metric"),
    [
        (mlp.train, {"epochs": "6", "mini_batch_size": "32", "hidden_layers": "16"}, "validation:accuracy="),
        (
            linear_learner.train,
            {"predictor_type": "binary_classifier", "epochs": "6", "mini_batch_size": "32"},
            "validation:binary_classification_accuracy=",
        ),
    ],
)
def test_two_members_on_lopsided_shards_train_one_model_as_good_as_all_rows_on_one(
    tmp_path: Path, train: Callable[[TrainContext], object], hyperparameters: dict[str, str], metric: str
) -> None:
    rng = np.random.default_rng(7)
    shards = [_two_classes(rng, 1500, share_of_1=share) for share in (0.05, 0.95)]
    x_valid, y_valid = _two_classes(rng, 2000, share_of_1=0.5)
    for rank, (x, y) in enumerate(shards):
        _channel(tmp_path / f"vm{rank}/train", x, y)
        _channel(tmp_path / f"vm{rank}/validation", x_valid, y_valid)
    _channel(tmp_path / "all/train", *(np.concatenate(parts) for parts in zip(*shards, strict=True)))
    _channel(tmp_path / "all/validation", x_valid, y_valid)

    logs = _together(2, lambda team: _train(train, tmp_path / f"vm{team.rank}", hyperparameters, team))
    # One instance on all the rows, with the team's effective mini-batch (two members' batches).
    alone = _train(train, tmp_path / "all", {**hyperparameters, "mini_batch_size": "64"}, Solo())
    shard_only = _train(train, tmp_path / "vm0", hyperparameters, Solo())

    assert "rank 1 of 2 trains on 1500 rows" in "\n".join(logs[1])
    assert not any(line.startswith("#metric") for line in logs[1])  # algo-1 reports for the team
    assert (tmp_path / "vm0/model/model.json").exists()
    assert not any((tmp_path / "vm1/model").iterdir())
    team_accuracy = _last(logs[0], metric)
    assert abs(team_accuracy - _last(alone, metric)) <= 0.01
    assert _last(shard_only, metric) < team_accuracy - 0.05


def test_sigterm_on_one_member_stops_every_member_at_the_same_step(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for rank in (0, 1):
        x, y = _two_classes(rng, 400, share_of_1=0.5)
        _channel(tmp_path / f"vm{rank}/train", x, y)
        _channel(tmp_path / f"vm{rank}/validation", x, y)
    members = thread_team.members(2)
    members[1].signalled.request()  # SIGTERM reached algo-2 only

    def train(member: thread_team.ThreadMember) -> TrainResult:
        root = tmp_path / f"vm{member.rank}"
        (root / "model").mkdir()
        channels = {name: Channel(name=name, path=root / name) for name in ("train", "validation")}
        context = TrainContext(
            model_dir=root / "model",
            hyperparameters={"epochs": "50", "mini_batch_size": "16"},
            channels=channels,
            stop=member.agreed,
            emit=lambda line: None,
            team=member,
        )
        return mlp.train(context)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(train, members))
    assert [(r.epochs, r.interrupted) for r in results] == [(1, True), (1, True)]
    assert (tmp_path / "vm0/model/model.json").exists()  # the model as it stood, written by algo-1


def test_a_multi_instance_builtin_without_pytorch_fails_with_a_client_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "app.training.gloo_team", None)  # as if torch were not installed
    spec = contract.VmSpec(
        job_name="j",
        job_arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/j",
        host="algo-2",
        hosts=("algo-1", "algo-2"),
        instance_type="ml.m5.large",
        vcpus=2,
        memory_mib=8192,
    )
    with (
        pytest.raises(ClientError, match="`distributed` extra"),
        joined(spec, env={}, signalled=StopFlag()),
    ):
        pass
    with joined(spec, env={}, signalled=StopFlag(), together=False) as (alone, _):
        assert isinstance(alone, Solo)


def test_a_single_instance_builtin_never_imports_torch(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    x, y = _two_classes(rng, 200, share_of_1=0.5)
    spec = contract.VmSpec(
        job_name="solo",
        job_arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/solo",
        instance_type="ml.m5.large",
        vcpus=2,
        memory_mib=8192,
        hyperparameters={"epochs": "1"},
        channels=(contract.ChannelSpec(name="train"),),
        training_image="mlp",
    )
    paths = contract.write_config(spec, tmp_path)
    np.savetxt(paths.channel_dir("train") / "part.csv", np.column_stack([y, x]), delimiter=",", fmt="%.6g")
    probe = (
        "import sys; from app.training.__main__ import main; code = main([sys.argv[1]]); "
        "print('torch' in sys.modules); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
    assert (paths.model_dir / "model.json").exists()


def _clusters(rng: np.random.Generator, rows: int, *, among: tuple[int, ...]) -> tuple[Array, Array]:
    """Rows around some of four well-apart centers in 4 features (the label column: the center)."""
    centers = np.array([[0.0, 0.0, 0.0, 0.0], [8.0, 0.0, 0.0, 0.0], [0.0, 8.0, 0.0, 0.0], [0, 0, 8.0, 8.0]])
    labels = rng.choice(among, size=rows).astype(np.float64)
    return centers[labels.astype(int)] + rng.normal(0.0, 1.0, (rows, 4)), labels


def test_kmeans_members_on_disjoint_clusters_find_every_cluster_as_one_vm_on_all_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    shards = [_clusters(rng, 1200, among=(0, 1)), _clusters(rng, 800, among=(2, 3))]
    x_valid, y_valid = _clusters(rng, 1000, among=(0, 1, 2, 3))
    for rank, (x, y) in enumerate(shards):
        _channel(tmp_path / f"vm{rank}/train", x, y)
        _channel(tmp_path / f"vm{rank}/validation", x_valid, y_valid)
    _channel(tmp_path / "all/train", *(np.concatenate(parts) for parts in zip(*shards, strict=True)))
    _channel(tmp_path / "all/validation", x_valid, y_valid)
    hyperparameters = {"k": "4", "feature_dim": "4", "mini_batch_size": "100", "init_method": "kmeans++"}

    logs = _together(2, lambda team: _train(kmeans.train, tmp_path / f"vm{team.rank}", hyperparameters, team))
    found = kmeans.predict(tmp_path / "vm0/model", x_valid)  # before the shard-only run replaces it
    alone = _train(kmeans.train, tmp_path / "all", hyperparameters, Solo())
    shard_only = _train(kmeans.train, tmp_path / "vm0", hyperparameters, Solo())

    assert "rank 1 of 2 trains on 800 rows" in "\n".join(logs[1])
    assert not any(line.startswith("#metric") for line in logs[1])
    assert not any((tmp_path / "vm1/model").iterdir())
    team_msd = _last(logs[0], "validation:msd=")
    assert abs(team_msd - _last(alone, "validation:msd=")) <= 0.05 * _last(alone, "validation:msd=")
    assert team_msd < 6.0  # four clusters of variance 4 (1 per feature) each: about 4 when all are found
    assert _last(shard_only, "validation:msd=") > 3 * team_msd  # two clusters never seen
    assert len(set(zip(y_valid.tolist(), found.tolist(), strict=True))) == 4  # one cluster per center


def test_kmeans_members_stop_together_when_one_gets_sigterm(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for rank in (0, 1):
        _channel(tmp_path / f"vm{rank}/train", *_clusters(rng, 500, among=(0, 1, 2, 3)))
    members = thread_team.members(2)
    members[1].signalled.request()  # SIGTERM reached algo-2 only

    def train(member: thread_team.ThreadMember) -> TrainResult:
        root = tmp_path / f"vm{member.rank}"
        (root / "model").mkdir()
        context = TrainContext(
            model_dir=root / "model",
            hyperparameters={"k": "3", "epochs": "20", "mini_batch_size": "10"},
            channels={"train": Channel(name="train", path=root / "train")},
            stop=member.agreed,
            emit=lambda line: None,
            team=member,
        )
        return kmeans.train(context)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(train, members))
    assert [r.interrupted for r in results] == [True, True]
    assert (tmp_path / "vm0/model/model.json").exists()
