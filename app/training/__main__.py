"""The training child process: `python -m app.training <root>`, run with `sm_env.environment()`.

Reads the contract files under `root` (see `app.runtime.contract`), picks the built-in algorithm the
job's training image or algorithm name names, trains it and writes the model to `root/model`.

Exit status and `root/output/failure` (SageMaker's failure file, whose text becomes FailureReason):
  0  trained; or stopped by SIGTERM — the algorithm finishes its current mini-batch, writes the model
     as it stands and exits 0, because SageMaker packages whatever the model directory holds when a job
     is stopped or reaches its deadline (the supervisor, not this exit code, says it was stopped)
  1  `ClientError: <message>` — the job's data or hyperparameters are wrong (a `ClientError`)
  2  `AlgorithmError: <message>` — anything unexpected; the traceback goes to stderr
  64 bad command line (no failure file: there is no root to write it under)
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.runtime import contract
from app.training import script
from app.training.errors import ClientError
from app.training.stop import StopFlag

if TYPE_CHECKING:
    from app.training.context import Channel

EXIT_OK, EXIT_CLIENT_ERROR, EXIT_ALGORITHM_ERROR, EXIT_USAGE = 0, 1, 2, 64
_FAILURE_LIMIT = 1024  # FailureReason's length limit


def main(argv: Sequence[str] | None = None) -> int:
    stop = StopFlag()
    signal.signal(signal.SIGTERM, stop.request)
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        sys.stderr.write("usage: python -m app.training <root>\n")
        return EXIT_USAGE
    return run(Path(args[0]), stop=stop)


def run(root: Path, *, stop: StopFlag) -> int:
    """Train the job laid out under `root`; returns the exit status (see the module docstring)."""
    paths = contract.layout(root)
    try:
        spec = contract.read_spec(root)
        if script.names_entry_point(spec):
            return run_script(spec, paths, stop=stop)  # before importing numpy: user code starts sooner
        # Only the built-in algorithms need numpy (via `team` and `context`): importing it takes about
        # half a second of a busy machine, which script mode's user code would wait for.
        from app.training import registry, team
        from app.training.context import TrainContext

        algorithm = registry.resolve(training_image=spec.training_image, algorithm_name=spec.algorithm_name)
        if algorithm is None:
            return run_script(spec, paths, stop=stop)
        joined = team.joined(spec, env=os.environ, signalled=stop, together=algorithm.data_parallel)
        with joined as (members, watched):
            context = TrainContext(
                model_dir=paths.model_dir,
                hyperparameters=spec.hyperparameters,
                channels={c.name: _channel(c, paths) for c in spec.channels},
                stop=watched,
                team=members,
            )
            context.log(
                f"sagelite: {algorithm.name} on {spec.host} ({spec.instance_type}, {spec.vcpus} vCPU)"
            )
            result = algorithm.train(context)
        if result.interrupted:
            context.log("sagelite: stopped by SIGTERM; the model was saved as it stood")
        return EXIT_OK
    except ClientError as error:
        return _fail(paths, f"ClientError: {error}", EXIT_CLIENT_ERROR)
    except Exception as error:
        traceback.print_exc()
        return _fail(paths, f"AlgorithmError: {type(error).__name__}: {error}", EXIT_ALGORITHM_ERROR)


def run_script(spec: contract.VmSpec, paths: contract.Paths, *, stop: StopFlag) -> int:
    """Script mode (see `app.training.script`): exec the user's entry point; returns only on error."""
    script.exec_user_code(spec, paths)
    return EXIT_ALGORITHM_ERROR  # not reached: exec replaced this process


def _channel(spec: contract.ChannelSpec, paths: contract.Paths) -> Channel:
    from app.training.context import Channel

    return Channel(
        name=spec.name,
        path=paths.channel_dir(spec.name),
        content_type=spec.content_type,
        distribution=spec.distribution,
    )


def _fail(paths: contract.Paths, message: str, status: int) -> int:
    sys.stderr.write(message + "\n")
    paths.failure_file.parent.mkdir(parents=True, exist_ok=True)
    paths.failure_file.write_text(message[:_FAILURE_LIMIT], encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
