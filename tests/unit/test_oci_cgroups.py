"""What the server reads of a VM's cgroup, on v1 and v2 layouts laid out in a temporary directory."""

from __future__ import annotations

from pathlib import Path

from app.runtime.oci.cgroups import Cgroups


def _v1(root: Path) -> Cgroups:
    for controller, files in {
        "memory": {"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"},
        "pids": {"cgroup.procs": "11\n12\n"},
        "cpuacct": {"cpuacct.usage": "1500000000\n"},
        "freezer": {"freezer.state": "FROZEN\n"},
    }.items():
        directory = root / controller / "sagelite" / "k-vm-1"
        directory.mkdir(parents=True)
        for name, text in files.items():
            (directory / name).write_text(text)
    (root / "pids" / "sagelite" / "other-vm-9").mkdir()  # another server's VM
    return Cgroups(prefix="k-", root=root)


def test_v1_reads_each_controller_of_the_vm(tmp_path: Path) -> None:
    groups = _v1(tmp_path)
    assert not groups.v2
    assert groups.runc_path("vm-1") == "/sagelite/k-vm-1"
    assert groups.oom_kills("vm-1") == 2
    assert groups.processes("vm-1") == [11, 12]
    assert groups.cpu_seconds("vm-1") == 1.5
    assert groups.frozen("vm-1") and groups.exists("vm-1")
    assert groups.leftovers() == ["vm-1"]  # only this server's


def test_a_vm_without_a_cgroup_reads_as_empty(tmp_path: Path) -> None:
    groups = _v1(tmp_path)
    assert groups.oom_kills("vm-2") == 0 and groups.processes("vm-2") == [] and not groups.exists("vm-2")


def test_v2_reads_the_unified_hierarchy(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    directory = tmp_path / "sagelite" / "k-vm-1"
    directory.mkdir(parents=True)
    (directory / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (directory / "cgroup.procs").write_text("7\n")
    (directory / "cpu.stat").write_text("usage_usec 250000\nuser_usec 1\n")
    (directory / "cgroup.events").write_text("populated 1\nfrozen 0\n")
    groups = Cgroups(prefix="k-", root=tmp_path)
    assert groups.v2
    assert (groups.oom_kills("vm-1"), groups.processes("vm-1"), groups.cpu_seconds("vm-1")) == (1, [7], 0.25)
    assert not groups.frozen("vm-1")
    assert groups.leftovers() == ["vm-1"]


def test_the_parent_is_capped(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    Cgroups(prefix="k-", root=tmp_path).ensure_parent(memory_limit_bytes=123)
    assert (tmp_path / "memory" / "sagelite" / "memory.limit_in_bytes").read_text() == "123"
