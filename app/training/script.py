"""Script mode: run the user's entry point the way the SageMaker training toolkit does.

The entry point is `AlgorithmSpecification.ContainerEntrypoint` (+ `ContainerArguments`), run as given,
or the hyperparameter `sagemaker_program`: a `.py` file run with this Python (a `.sh` with /bin/sh) from
`code/`, where the supervisor unpacked `sagemaker_submit_directory`, with every other hyperparameter as
`--name value` arguments (under torchrun on every VM with `sagemaker_torch_distributed_enabled`: see
`app.training.torchrun`). The process replaces this one (exec), so SIGTERM reaches the user's handler and
the exit status is the script's own.

`requirements.txt` in `code/` is installed only when the request's Environment sets
`SAGELITE_INSTALL_REQUIREMENTS=1`: into `code/.deps` (added to PYTHONPATH), never into the service's
own environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.runtime import contract, rendezvous, sm_env
from app.runtime.rendezvous import Rendezvous
from app.training import torchrun
from app.training.errors import ClientError

TOOLKIT_PREFIX = "sagemaker_"


def names_entry_point(spec: contract.VmSpec) -> bool:
    """Whether the job names its own code (then it runs in script mode, whatever the image)."""
    return bool(spec.container_entrypoint) or "sagemaker_program" in spec.hyperparameters


def command_for(
    spec: contract.VmSpec, paths: contract.Paths, *, meeting: Rendezvous | None = None
) -> list[str]:
    """The command line that runs the job's user code; ClientError says what to provide if nothing does.
    `meeting` is where a torch_distributed job's VMs meet (by default algo-1, as on SageMaker)."""
    if spec.container_entrypoint:
        return [*spec.container_entrypoint, *spec.container_arguments]
    hyperparameters = sm_env.decode_hyperparameters(spec.hyperparameters)
    program = hyperparameters.get("sagemaker_program")
    if not program:
        named = spec.training_image or spec.algorithm_name or "(none)"
        raise ClientError(
            f"training image {named!r} is not a built-in algorithm (mlp, linear-learner, kmeans); to run "
            "your own code give the hyperparameters sagemaker_program and sagemaker_submit_directory, or "
            "AlgorithmSpecification.ContainerEntrypoint"
        )
    script = (paths.code_dir / str(program)).resolve()
    if not script.is_relative_to(paths.code_dir.resolve()) or not script.is_file():
        raise ClientError(f"sagemaker_program {program!r} was not found in the submitted source directory")
    user = {k: v for k, v in hyperparameters.items() if not k.startswith(TOOLKIT_PREFIX)}
    args = sm_env.user_args(user)
    python = script.suffix != ".sh"
    if torchrun.enabled(hyperparameters):
        meeting = meeting or rendezvous.on_job_network(spec.hosts)
        return torchrun.command(spec, script=str(script), args=args, meeting=meeting, python=python)
    return [*([sys.executable] if python else ["/bin/sh"]), str(script), *args]


def exec_user_code(spec: contract.VmSpec, paths: contract.Paths) -> None:
    """Replace this process with the user's code (never returns)."""
    env = dict(os.environ)
    command = command_for(spec, paths, meeting=rendezvous.from_environment(env))
    if env.get("SAGELITE_INSTALL_REQUIREMENTS") == "1":
        _install_requirements(paths.code_dir, env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(paths.code_dir), env.get("PYTHONPATH")) if p)
    paths.code_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(paths.code_dir)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        raise ClientError(f"cannot run {command[0]!r}: {error.strerror}") from error


def _install_requirements(code_dir: Path, env: dict[str, str]) -> None:
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return
    target = code_dir / ".deps"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "-r", str(requirements)],
        check=False,
    )
    if result.returncode != 0:
        raise ClientError(f"installing requirements.txt failed (pip exit code {result.returncode})")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(target), env.get("PYTHONPATH")) if p)
