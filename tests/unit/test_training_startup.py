"""Script mode starts the user's code without first loading what only the built-in algorithms use."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy",)  # about half a second to import on a busy machine: a remote VM's start waited for it


def test_the_training_entry_point_loads_no_numerical_library_before_it_knows_the_job_needs_one() -> None:
    loaded = f"[m for m in sys.modules if m.split('.')[0] in {HEAVY}]"
    probe = f"import sys, app.training.__main__; print({loaded})"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert found == "[]"
