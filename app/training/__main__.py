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

import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from app.runtime import contract
from app.training import builtin_algorithms, script
from app.training.errors import ClientError
from app.training.stop import StopFlag

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
        builtin = builtin_algorithms.resolve(
            training_image=spec.training_image, algorithm_name=spec.algorithm_name
        )
        if script.names_entry_point(spec) or builtin is None:
            script.exec_user_code(spec, paths)  # replaces this process; returns only by raising
            return EXIT_ALGORITHM_ERROR
        # Imported here: numpy and the algorithms cost a few hundred milliseconds that script mode,
        # whose user code starts as soon as this process execs it, must not pay.
        from app.training import builtin_run

        builtin_run.train(builtin.name, spec, paths, stop=stop)
        return EXIT_OK
    except ClientError as error:
        return _fail(paths, f"ClientError: {error}", EXIT_CLIENT_ERROR)
    except Exception as error:
        traceback.print_exc()
        return _fail(paths, f"AlgorithmError: {type(error).__name__}: {error}", EXIT_ALGORITHM_ERROR)


def _fail(paths: contract.Paths, message: str, status: int) -> int:
    sys.stderr.write(message + "\n")
    paths.failure_file.parent.mkdir(parents=True, exist_ok=True)
    paths.failure_file.write_text(message[:_FAILURE_LIMIT], encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
