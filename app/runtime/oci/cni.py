"""Calls a CNI plugin binary the way the CNI specification says a runtime does.

The plugin reads its network configuration as JSON on stdin and the call's parameters from the
environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH), and answers with a JSON
result on stdout or a JSON error (`code`, `msg`, `details`) with a non-zero exit.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Command = Literal["ADD", "DEL", "CHECK"]
# A plugin call is a fork and a few netlink messages; one that hangs is broken, not slow.
PLUGIN_TIMEOUT_SECONDS = 30.0


class CniError(RuntimeError):
    """A plugin refused or failed a call; the message carries the plugin's own error."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """Where a plugin call applies: a container (our netns name), its namespace and interface."""

    container_id: str
    netns_path: Path
    ifname: str


def call(
    *, plugin_dir: Path, command: Command, attachment: Attachment, config: dict[str, Any]
) -> dict[str, Any]:
    """Runs the plugin named by `config["type"]`; returns its result (empty for DEL and CHECK)."""
    plugin = plugin_dir / str(config["type"])
    if not plugin.is_file():
        raise CniError(f"CNI plugin {config['type']!r} is not installed in {plugin_dir}")
    environment = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": attachment.container_id,
        "CNI_NETNS": str(attachment.netns_path),
        "CNI_IFNAME": attachment.ifname,
        "CNI_PATH": str(plugin_dir),
        # Plugins run `iptables` and friends by name; give them the system's binaries and nothing else.
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    }
    finished = subprocess.run(
        [str(plugin)],
        input=json.dumps(config).encode(),
        env=environment,
        capture_output=True,
        timeout=PLUGIN_TIMEOUT_SECONDS,
        check=False,
    )
    if finished.returncode != 0:
        raise CniError(f"CNI {config['type']} {command} failed: {_plugin_error(finished)}")
    return json.loads(finished.stdout) if finished.stdout.strip() else {}


def _plugin_error(finished: subprocess.CompletedProcess[bytes]) -> str:
    try:
        error = json.loads(finished.stdout)
        return f"{error.get('msg', '')} {error.get('details', '')}".strip()
    except ValueError:
        return (finished.stderr or finished.stdout).decode(errors="replace").strip()[-500:]
