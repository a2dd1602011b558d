"""The dependency rules of the design guide, checked by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

# Pure modules: logic only, importing nothing from the app but each other.
PURE = (
    "app.jobs.status",
    "app.hosts.instance_types",
    "app.scheduler.placement",
    "app.scheduler.capacity",
    "app.scheduler.reservation",
    "app.scheduler.incremental",
    "app.storage.uris",
    "app.runtime.contract",
)
# The training child process stays light: numpy, its own package and the contract.
CHILD_ALLOWED = ("app.training", "app.runtime.contract")


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _app_imports(path: Path) -> set[str]:
    """Modules imported: `from app.x import y` counts as app.x.y when y is a module, else as app.x."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(
                    candidate
                    if (APP.parent / candidate.replace(".", "/")).with_suffix(".py").exists()
                    or (APP.parent / candidate.replace(".", "/")).is_dir()
                    else node.module
                )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "app" or name.startswith("app.")}


MODULES = {_module_name(path): _app_imports(path) for path in sorted(APP.rglob("*.py"))}


def _is_module(name: str) -> bool:
    return name in MODULES


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_nothing_from_the_app(module: str) -> None:
    assert {name for name in MODULES[module] if _is_module(name)} - set(PURE) == set()


def test_nothing_imports_the_api_but_the_app_entry_points() -> None:
    offenders = {
        module
        for module, imports in MODULES.items()
        if not _within(module, "app.api")
        and module not in ("app.main",)
        and any(_within(name, "app.api") for name in imports)
    }
    assert offenders == set()


def test_the_training_child_imports_only_training_and_the_contract() -> None:
    for module, imports in MODULES.items():
        if not _within(module, "app.training"):
            continue
        outside = {
            name
            for name in imports
            if _is_module(name) and not any(_within(name, allowed) for allowed in CHILD_ALLOWED)
        }
        assert outside == set(), f"{module} imports {outside}"


def test_the_storage_layer_knows_nothing_of_jobs_or_the_scheduler() -> None:
    for module, imports in MODULES.items():
        if _within(module, "app.storage"):
            assert not any(
                _within(n, p) for n in imports for p in ("app.jobs", "app.scheduler", "app.runtime")
            )


def test_repositories_and_services_do_not_reach_up_into_the_scheduler() -> None:
    for module, imports in MODULES.items():
        if _within(module, "app.jobs") or _within(module, "app.hosts"):
            assert not any(_within(n, "app.scheduler") for n in imports), module
