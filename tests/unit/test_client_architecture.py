"""`app.client` is usable on its own: it imports the standard library, httpx and itself, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "app" / "client"
ALLOWED = {"httpx"} | set(sys.stdlib_module_names)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_client_imports_only_the_stdlib_httpx_and_itself() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in CLIENT.glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] not in ALLOWED and not (name == "app.client" or name.startswith("app.client."))
    }
    assert offenders == set()
