"""A built-in algorithm's run in the training child: join the job's team (data-parallel built-ins with
InstanceCount > 1 train one model together) and train on this VM's channels.

Kept out of `app.training.__main__`, which imports it only for built-ins: this module brings numpy in.
"""

from __future__ import annotations

import os

from app.runtime import contract
from app.training import registry, team
from app.training.context import Channel, TrainContext
from app.training.stop import StopFlag


def train(name: str, spec: contract.VmSpec, paths: contract.Paths, *, stop: StopFlag) -> None:
    """Train the built-in `name` with the job's hyperparameters; the model goes to `paths.model_dir`."""
    algorithm = registry.ALGORITHMS[name]
    joined = team.joined(spec, env=os.environ, signalled=stop, together=algorithm.data_parallel)
    with joined as (members, watched):
        context = TrainContext(
            model_dir=paths.model_dir,
            hyperparameters=spec.hyperparameters,
            channels={c.name: _channel(c, paths) for c in spec.channels},
            stop=watched,
            team=members,
        )
        context.log(f"sagelite: {algorithm.name} on {spec.host} ({spec.instance_type}, {spec.vcpus} vCPU)")
        result = algorithm.train(context)
    if result.interrupted:
        context.log("sagelite: stopped by SIGTERM; the model was saved as it stood")


def _channel(spec: contract.ChannelSpec, paths: contract.Paths) -> Channel:
    return Channel(
        name=spec.name,
        path=paths.channel_dir(spec.name),
        content_type=spec.content_type,
        distribution=spec.distribution,
    )
