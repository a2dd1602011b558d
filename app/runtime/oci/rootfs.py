"""What of the host a VM sees: the system directories, a few files of /etc, the interpreter and the
training environment, each mounted read-only at its own path, over a root that is otherwise empty.

The root directory is made here, per VM, before runc starts: the mount points (with their parents made
0755, so an interpreter under a 0700 home is reachable through its own mount), the merged-/usr links as
the host has them, and /etc's generated files (passwd and group naming the VM's user, hosts, hostname).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs read from /etc: the dynamic linker's cache, certificates, time zone, name service rules.
ETC_ENTRIES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/protocols",
    "/etc/services",
    "/etc/mime.types",
)
# Made in the root, not mounted over: the VM's own mounts (runc's) and its disk.
# The `app` package itself, wherever it is installed (editable: in the source tree, whose other files,
# such as a data directory, stay unseen).
_APP_PACKAGE = Path(__file__).resolve().parents[2]
_OWN_DIRS = ("proc", "dev", "sys", "tmp", "opt/ml", "etc")


@dataclass(frozen=True, slots=True)
class HostView:
    """Host paths bound read-only at the same path, and the root's top-level links (`bin -> usr/bin`)."""

    binds: tuple[Path, ...]
    links: tuple[tuple[str, str], ...]


def host_view(*, extra: Iterable[Path]) -> HostView:
    """This machine's view: its system directories and /etc entries, plus `extra` (the interpreter's
    prefixes and the application's package), minus what a broader mount already holds."""
    links: list[tuple[str, str]] = []
    binds: list[Path] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            links.append((name.lstrip("/"), os.readlink(path)))
        elif path.is_dir():
            binds.append(path)
    binds += [Path(entry) for entry in ETC_ENTRIES if os.path.lexists(entry)]
    binds += _uncovered([Path(os.path.realpath(p)) for p in extra], covered=binds)
    return HostView(binds=tuple(binds), links=tuple(links))


def python_paths() -> list[Path]:
    """The interpreter's installation and environment: what `python -m app.training` needs."""
    interpreter = Path(os.path.realpath(sys.executable)).parent
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return [*(Path(p) for p in sorted(prefixes)), interpreter, _APP_PACKAGE]


def _uncovered(paths: Sequence[Path], *, covered: Sequence[Path]) -> list[Path]:
    chosen: list[Path] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(path == c or c in path.parents for c in [*covered, *chosen]):
            chosen.append(path)
    return chosen


def build(root: Path, *, view: HostView, etc_files: dict[str, str]) -> None:
    """Make the root directory: mount points, links and /etc's generated files (0644, dirs 0755)."""
    _mkdir(root)
    for relative in _OWN_DIRS:
        _mkdirs(root, Path(relative))
    for name, target in view.links:
        if not os.path.lexists(root / name):
            os.symlink(target, root / name)
    for bind in view.binds:
        inside = bind.relative_to("/")
        _mkdirs(root, inside.parent)
        if bind.is_dir():
            _mkdir(root / inside)
        elif not (root / inside).exists():
            _write(root / inside, "")
    for name, text in etc_files.items():
        _write(root / "etc" / name, text)
    (root / "tmp").chmod(0o1777)


def etc_files(*, hostname: str, uid: int, hosts_text: str | None) -> dict[str, str]:
    """passwd and group with root and the VM's user (`algo`), hosts, hostname, an empty resolv.conf."""
    hosts = hosts_text or f"127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t{hostname}\n"
    return {
        "passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\nalgo:x:{uid}:{uid}:algo:/opt/ml:/bin/sh\n",
        "group": f"root:x:0:\nalgo:x:{uid}:\n",
        "hosts": hosts,
        "hostname": hostname + "\n",
        "resolv.conf": "",
    }


def _mkdirs(root: Path, relative: Path) -> None:
    path = root
    for part in relative.parts:
        path = path / part
        _mkdir(path)


def _mkdir(path: Path) -> None:
    path.mkdir(exist_ok=True)
    path.chmod(0o755)  # explicitly: the server runs with umask 077


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o644)
