"""What the built-in algorithms do differently as one member of a team (`app.training.team`).

Each member trains on its own rows: a `ShardedByS3Key` channel already holds only this VM's objects; a
`FullyReplicated` one is cut into contiguous, rank-ordered slices. What must agree across members is
computed over the union of their rows: the classes, the standardization of the features (and of a
regressor's labels) and every metric (row-weighted means). Shards are evened out to the largest one's
row count by repeating rows, so every member takes the same number of steps per epoch. With a team of
one, each function returns exactly what the single-instance algorithm computes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from app.training import prep
from app.training.context import Channel
from app.training.data import Array, Features, Table
from app.training.errors import DataError
from app.training.team import Team

SHARDED = "ShardedByS3Key"


def rank_slice(rows: int, *, rank: int, size: int) -> slice:
    """Member `rank`'s contiguous part of `rows` rows; the parts of all members cover each row once."""
    return slice(rows * rank // size, rows * (rank + 1) // size)


def own_part(table: Table, *, channel: Channel, team: Team, log: Callable[[str], None]) -> Table:
    """The rows of `channel` this member trains on (logged with its rank)."""
    if team.size == 1:
        return table
    if channel.distribution == SHARDED:
        part, how = table, f"its {SHARDED} shard"
    else:
        part = table.take(np.arange(table.rows)[rank_slice(table.rows, rank=team.rank, size=team.size)])
        how = f"slice {team.rank + 1} of {team.size} of the FullyReplicated channel's {table.rows} rows"
    if part.rows == 0:
        raise DataError(
            f"channel {channel.name!r} leaves rank {team.rank} no rows: fewer rows than instances"
        )
    who = f"rank {team.rank} of {team.size}"
    log(f"data parallel: {who} trains on {part.rows} rows of channel {channel.name!r}: {how}")
    return part


def evened(table: Table, *, team: Team, log: Callable[[str], None]) -> Table:
    """`table` with rows repeated up to the largest member's row count (same step count everywhere)."""
    if team.size == 1:
        return table
    target = max(team.gather(table.rows))
    if target == table.rows:
        return table
    log(f"data parallel: {table.rows} rows repeated up to {target}, the largest shard's row count")
    return table.take(np.arange(target) % table.rows)


def same_everywhere(value: bool, *, team: Team, what: str) -> None:
    """Refuse to go on when members disagree about `what` (they would wait on each other forever)."""
    if len(set(team.gather(value))) > 1:
        raise DataError(f"the instances disagree on whether {what}; give every instance enough rows")


def classes(labels: Array, *, team: Team, num_classes: int | None) -> Array:
    """The class values of every member's labels together (a shard may lack a class)."""
    if team.size == 1:
        return prep.find_classes(labels, num_classes=num_classes)
    found = np.concatenate(team.gather(np.unique(labels)))
    return prep.find_classes(found, num_classes=num_classes)


def standardizer(features: Features, *, team: Team) -> prep.Standardizer:
    """Mean and standard deviation of each feature over every member's rows."""
    if team.size == 1:
        return prep.Standardizer.fit(features)
    mean, std = moments(features.astype(np.float64), team=team)
    std[std < 1e-12] = 1.0
    return prep.Standardizer(mean.astype(np.float32), std.astype(np.float32))


def moments(values: Array, *, team: Team) -> tuple[Array, Array]:
    """Per-column mean and (population) standard deviation of `values` (rows, columns) across the team."""
    columns = values.shape[1]
    totals = np.concatenate([[values.shape[0]], values.sum(axis=0), (values**2).sum(axis=0)])
    team.sum(totals)
    count = max(totals[0], 1.0)
    mean = totals[1 : 1 + columns] / count
    variance = np.maximum(totals[1 + columns :] / count - mean**2, 0.0)
    return mean, np.sqrt(variance)


def mean_over_rows(values: Mapping[str, float], *, rows: int, team: Team) -> dict[str, float]:
    """Each metric (a mean over this member's `rows`) as the mean over every member's rows."""
    if team.size == 1:
        return dict(values)
    totals = np.array([*(value * rows for value in values.values()), rows], np.float64)
    team.sum(totals)
    count = max(float(totals[-1]), 1.0)
    return {name: float(total) / count for name, total in zip(values, totals[:-1], strict=False)}
