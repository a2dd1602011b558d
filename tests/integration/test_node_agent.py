"""A Ray node's agent, driven directly (no cluster): it starts a VM from what the server sends, hands its
log over as it grows and its results once it has ended, and leaves nothing running behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.runtime.ray import node_files
from app.runtime.ray.node_agent import NodeAgent, NodeLaunch, Progress
from tests.support.polling import wait_until

SERVER_ROOT = "/srv/sagelite/vms/vm-1"


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NodeAgent]:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # the node's scratch directory
    started = NodeAgent(server_key="test", address="127.0.0.1")
    yield started
    started.kill_all()


def _launch(tmp_path: Path, script: str, *, vm_id: str = "vm-1", deadline_in: float = 600) -> NodeLaunch:
    tree = tmp_path / "server-tree"
    (tree / "model").mkdir(parents=True, exist_ok=True)
    (tree / "input" / "config").mkdir(parents=True, exist_ok=True)
    (tree / "input" / "config" / "hyperparameters.json").write_text('{"epochs": "3"}')
    return NodeLaunch(
        vm_id=vm_id,
        bundle=node_files.pack(tree),
        fetches=(),
        arguments=("-c", script),
        env={"SM_MODEL_DIR": f"{SERVER_ROOT}/model", "SAGELITE_VM_ID": vm_id},
        server_root=SERVER_ROOT,
        memory_bytes=None,
        max_log_bytes=1 << 20,
        deadline_at=time.time() + deadline_in,
        grace_seconds=0.5,
    )


def _until_ended(agent: NodeAgent, vm_id: str) -> tuple[bytes, int]:
    log = b""

    def poll() -> Progress:
        nonlocal log
        progress = agent.poll(vm_id, len(log))
        log += progress.log
        return progress

    ended = wait_until(poll, until=lambda p: p.exit_code is not None, what="the VM to end")
    assert ended.exit_code is not None
    return log, ended.exit_code


def test_a_vm_runs_in_the_nodes_folder_and_hands_back_its_log_and_model(
    agent: NodeAgent, tmp_path: Path
) -> None:
    script = (
        "import os\n"
        "print(open('input/config/hyperparameters.json').read(), flush=True)\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write(os.getcwd())\n"
    )
    agent.start(_launch(tmp_path, script))
    log, code = _until_ended(agent, "vm-1")
    assert code == 0 and b'{"epochs": "3"}' in log

    back = tmp_path / "back"
    node_files.unpack(agent.collect("vm-1"), back)
    cwd = (back / "model" / "m.txt").read_text()  # SM_MODEL_DIR moved from the server's path to the node's
    assert cwd.startswith(str(tmp_path / "sagelite-vms" / "test")) and not cwd.startswith(SERVER_ROOT)
    agent.discard("vm-1")
    assert not (tmp_path / "sagelite-vms" / "test" / "vm-1").exists()


def test_a_sigterm_ends_the_vm_and_kill_all_leaves_no_process(agent: NodeAgent, tmp_path: Path) -> None:
    agent.start(_launch(tmp_path, "import time; print('up', flush=True); time.sleep(600)"))
    wait_until(lambda: agent.poll("vm-1", 0).log, what="the VM to start")
    agent.signal("vm-1", signal.SIGTERM)
    assert _until_ended(agent, "vm-1")[1] == -signal.SIGTERM

    agent.start(_launch(tmp_path, "import time; print('up', flush=True); time.sleep(600)", vm_id="vm-2"))
    wait_until(lambda: agent.poll("vm-2", 0).log, what="the second VM to start")
    assert agent.kill_all() == 1
    assert not _processes_of("vm-2")


def test_a_held_poll_answers_with_the_first_line_as_it_comes_and_a_quiet_vm_after_its_wait(
    agent: NodeAgent, tmp_path: Path
) -> None:
    script = "import time; print('up', flush=True); time.sleep(600)"
    agent.start(_launch(tmp_path, script))
    asked = time.monotonic()
    first = agent.poll("vm-1", 0, wait_seconds=600)  # a VM's start takes far less: the line ends the wait
    assert first.log == b"up\n" and first.exit_code is None
    assert time.monotonic() - asked < 60

    asked = time.monotonic()
    quiet = agent.poll("vm-1", len(first.log), wait_seconds=0.3)
    assert quiet == Progress(b"", None) and time.monotonic() - asked >= 0.3
    agent.signal("vm-1", signal.SIGKILL)
    ended = agent.poll("vm-1", len(first.log), wait_seconds=600)  # the end ends the wait too
    assert ended.exit_code == -signal.SIGKILL


def test_the_node_kills_a_vm_past_its_deadline_without_the_server(agent: NodeAgent, tmp_path: Path) -> None:
    launch = _launch(tmp_path, "import time; print('up', flush=True); time.sleep(600)", deadline_in=-9.5)
    agent.start(launch)  # the deadline, grace and backstop (10 s) are already past: killed once started
    assert _until_ended(agent, "vm-1")[1] == -signal.SIGKILL


def test_a_vm_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    starter = (
        "import os, sys, time; from pathlib import Path\n"
        "from app.runtime.executor import LaunchSpec, LocalExecutor\n"
        "spec = LaunchSpec(vm_id='vm-orphan', command=[sys.executable, '-c', 'import time; time.sleep(600)'],"
        " cwd=Path(sys.argv[1]), log_path=Path(sys.argv[1]) / 'log',"
        " env={'SAGELITE_VM_ID': 'vm-orphan', 'PYTHONPATH': os.environ['PYTHONPATH']},"
        " max_log_bytes=4096, die_with_parent=True)\n"
        "print(LocalExecutor().launch(spec, lambda: None), flush=True); time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", starter, str(tmp_path)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert parent.stdout is not None
        int(parent.stdout.readline())
        wait_until(lambda: len(_processes_of("vm-orphan")) == 2, what="the VM (wrapper and command) to run")
    finally:
        parent.kill()
        parent.wait()
    wait_until(lambda: not _processes_of("vm-orphan"), what="the VM to die with its parent")


def _processes_of(vm_id: str) -> list[int]:
    mark = f"SAGELITE_VM_ID={vm_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or mark not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().split(")")[1].split()[0] != "Z":  # a zombie has ended
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_vm_of_a_team_binds_its_collectives_to_the_nodes_interface(
    agent: NodeAgent, tmp_path: Path
) -> None:
    # The agent's node is at 127.0.0.1 here: its interface is loopback's.
    script = "import os; print('ifname=' + os.environ.get('GLOO_SOCKET_IFNAME', 'unset'), flush=True)"
    team = _launch(tmp_path, script)
    agent.start(replace(team, env={**team.env, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "7777"}))
    assert b"ifname=lo" in _until_ended(agent, "vm-1")[0]

    agent.start(_launch(tmp_path, script, vm_id="vm-2"))  # told of no meeting: no interface either
    assert b"ifname=unset" in _until_ended(agent, "vm-2")[0]


def test_the_agent_finds_a_port_free_on_its_nodes_address(agent: NodeAgent) -> None:
    port = agent.free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))  # free indeed
