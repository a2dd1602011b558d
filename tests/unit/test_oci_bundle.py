"""A VM's OCI config, its seccomp profile and the host paths it sees (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.runtime.oci import bundle, rootfs, seccomp
from app.runtime.oci.executor import server_key, vm_uid

GIB = 1024**3


def _config(**overrides: Any) -> dict[str, Any]:
    box: dict[str, Any] = {
        "hostname": "algo-2",
        "args": ["/venv/bin/python", "-m", "app.training", "/opt/ml"],
        "env": {"PATH": "/usr/bin", "SM_CURRENT_HOST": "algo-2"},
        "uid": 123_456,
        "binds": [Path("/usr"), Path("/venv")],
        "disk": Path("/data/vms/vm-1"),
        "cgroups_path": "/sagelite/abc-vm-1",
        "memory_bytes": 4 * GIB,
        "vcpus": 2.0,
        "pids_limit": 512,
    } | overrides
    return bundle.config(bundle.Box(**box))


def test_the_container_has_its_own_namespaces_and_host_name() -> None:
    config = _config()
    assert config["hostname"] == "algo-2"
    assert {ns["type"] for ns in config["linux"]["namespaces"]} == {"pid", "ipc", "uts", "mount", "network"}
    assert all("path" not in ns for ns in config["linux"]["namespaces"])  # a fresh network: loopback only


def test_a_job_network_namespace_is_joined_by_path() -> None:
    config = _config(netns_path="/run/netns/job-7-algo-2")
    [network] = [ns for ns in config["linux"]["namespaces"] if ns["type"] == "network"]
    assert network["path"] == "/run/netns/job-7-algo-2"


def test_the_root_is_read_only_and_only_opt_ml_and_tmp_are_writable() -> None:
    config = _config()
    assert config["root"] == {"path": "rootfs", "readonly": True}
    mounts = {m["destination"]: m for m in config["mounts"]}
    assert "ro" in mounts["/usr"]["options"] and "ro" in mounts["/venv"]["options"]
    assert mounts["/opt/ml"]["source"] == "/data/vms/vm-1" and "rw" in mounts["/opt/ml"]["options"]
    assert mounts["/tmp"]["type"] == "tmpfs"
    binds = [m["source"] for m in config["mounts"] if m["type"] == "bind"]
    assert binds == ["/usr", "/venv", "/data/vms/vm-1"]  # nothing else of the host


def test_an_unprivileged_user_without_capabilities_under_tini() -> None:
    process = _config()["process"]
    assert process["user"] == {"uid": 123_456, "gid": 123_456, "additionalGids": []}
    assert all(caps == [] for caps in process["capabilities"].values())
    assert process["noNewPrivileges"] is True
    assert process["args"][: len(bundle.INIT)] == list(bundle.INIT)
    assert process["args"][len(bundle.INIT) :] == ["/venv/bin/python", "-m", "app.training", "/opt/ml"]
    assert process["env"] == ["PATH=/usr/bin", "SM_CURRENT_HOST=algo-2"]
    assert process["cwd"] == "/opt/ml"


def test_limits_are_the_instances() -> None:
    resources = _config(cpuset=(0, 3))["linux"]["resources"]
    assert resources["memory"] == {"limit": 4 * GIB, "swap": 4 * GIB}
    assert resources["cpu"] == {"quota": 200_000, "period": 100_000, "cpus": "0,3"}
    assert resources["pids"] == {"limit": 512}
    assert resources["devices"] == [{"allow": False, "access": "rwm"}]


def test_gpus_are_listed_devices() -> None:
    gpu = bundle.Device(path="/dev/nvidia0", major=195, minor=0)
    linux = _config(devices=[gpu])["linux"]
    assert linux["devices"][0]["path"] == "/dev/nvidia0"
    assert {"allow": True, "type": "c", "major": 195, "minor": 0, "access": "rwm"} in linux["resources"][
        "devices"
    ]


def test_seccomp_refuses_what_escapes_the_container_and_allows_the_rest() -> None:
    profile = seccomp.profile()
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    denied = {name for rule in profile["syscalls"] if "args" not in rule for name in rule["names"]}
    assert {"mount", "unshare", "setns", "ptrace", "bpf", "kexec_load", "init_module", "keyctl"} <= denied
    assert {"read", "write", "clone", "execve", "fork"}.isdisjoint(denied)
    clone_rules = [rule for rule in profile["syscalls"] if rule["names"] == ["clone"]]
    new_user = 0x10000000
    assert any(rule["args"][0]["value"] == new_user for rule in clone_rules)
    assert _config()["linux"]["seccomp"] == profile


def test_host_paths_under_a_broader_mount_are_not_mounted_twice() -> None:
    view = rootfs.host_view(extra=[Path("/usr/lib/python3"), Path("/")])
    assert Path("/usr/lib/python3") not in view.binds
    view = rootfs.host_view(extra=[])
    assert all(str(path).startswith(("/usr", "/bin", "/sbin", "/lib", "/etc")) for path in view.binds)
    assert not any(str(path).startswith("/etc/passwd") for path in view.binds)  # the VM's own, generated


def test_the_vm_user_and_host_name_are_in_its_etc() -> None:
    files = rootfs.etc_files(hostname="algo-3", uid=200_001, hosts_text=None)
    assert "algo:x:200001:200001:algo:/opt/ml:/bin/sh" in files["passwd"]
    assert "algo-3" in files["hosts"] and files["hostname"] == "algo-3\n"
    assert (
        rootfs.etc_files(hostname="algo-1", uid=1, hosts_text="10.0.0.2 algo-1\n")["hosts"]
        == "10.0.0.2 algo-1\n"
    )


def test_the_rootfs_holds_mount_points_links_and_generated_files(tmp_path: Path) -> None:
    view = rootfs.HostView(binds=(Path("/usr"), Path("/etc/ld.so.cache")), links=(("bin", "usr/bin"),))
    rootfs.build(tmp_path / "root", view=view, etc_files={"hostname": "algo-1\n"})
    root = tmp_path / "root"
    assert (
        (root / "usr").is_dir()
        and (root / "opt" / "ml").is_dir()
        and (root / "etc" / "ld.so.cache").is_file()
    )
    assert (root / "bin").readlink() == Path("usr/bin")
    assert (root / "etc" / "hostname").read_text() == "algo-1\n"
    assert (root / "opt").stat().st_mode & 0o777 == 0o755 and (root / "tmp").stat().st_mode & 0o7777 == 0o1777


def test_vm_ids_give_fixed_high_uids_and_data_dirs_distinct_keys(tmp_path: Path) -> None:
    assert vm_uid("vm-1") == vm_uid("vm-1") >= 100_000
    assert vm_uid("vm-1") != vm_uid("vm-2")
    assert server_key(tmp_path / "a") != server_key(tmp_path / "b")
    assert len(server_key(tmp_path)) == 12
