"""FailureReason of a VM that exited non-zero: memory and volume limits are named, else its own words."""

from __future__ import annotations

from pathlib import Path

from app.runtime import contract, failures


def _reason(tmp_path: Path, log_text: str, exit_code: int, **facts: object) -> str:
    log = tmp_path / "log"
    log.write_text(log_text)
    return failures.reason(
        tmp_path, log, exit_code, instance_type="ml.t3.medium", memory_gib=4, volume_gib=1, **facts
    )


def test_an_oom_kill_names_the_instance_memory(tmp_path: Path) -> None:
    reason = _reason(tmp_path, "training...\n", -9, oom_killed=True)
    assert reason.startswith("AlgorithmError: the process ran out of memory: ml.t3.medium has 4 GiB")
    assert "killed by SIGKILL" in reason


def test_a_full_volume_names_volume_size_in_gb(tmp_path: Path) -> None:
    reason = _reason(tmp_path, "OSError: [Errno 28] No space left on device\n", 1)
    assert "No space left on device" in reason
    assert "volume of 1 GiB (ResourceConfig.VolumeSizeInGB)" in reason


def test_otherwise_the_failure_file_or_the_log_tail(tmp_path: Path) -> None:
    assert _reason(tmp_path, "a\nValueError: bad\n", 1) == "AlgorithmError: exit code 1: a | ValueError: bad"
    contract.layout(tmp_path).failure_file.parent.mkdir(parents=True)
    contract.layout(tmp_path).failure_file.write_text("ClientError: no label column")
    assert _reason(tmp_path, "", 2) == "ClientError: no label column (exit code 2)"
