"""The dependency rules of the design guide, checked by walking every module's imports and query calls."""

from __future__ import annotations

import ast
import re
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
    "app.storage.artifact_layout",
    "app.runtime.contract",
    "app.runtime.sm_env",
    "app.runtime.rendezvous",
    "app.auth.throttle",
    "app.console.downsample",
    "app.cloudwatch.metrics.statistics",
    "app.cloudwatch.metrics.periods",
    "app.cloudwatch.metrics.identity",
    "app.cloudwatch.metrics.data_pages",
    "app.jobs.billing",
    "app.iam.principals",
    "app.api.query.form",
    "app.api.query.documents",
)
# The training child process stays light: numpy, its own package and the contract (layout, environment).
CHILD_ALLOWED = ("app.training", "app.runtime.contract", "app.runtime.sm_env", "app.runtime.rendezvous")
# One repository per aggregate owns its queries; `app.db` (engine, sessions, migrations) may query too.
REPOSITORIES = {
    "app.jobs.repository",
    "app.jobs.metric_repository",
    "app.tags.repository",
    "app.hosts.vms",  # the VM-and-host repository, under the name the scheduler and runtime import
    "app.storage.object_index",  # the object store's index, on sqlite3 rather than SQLAlchemy
}


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


# -- queries live in repositories --------------------------------------------------------------------

# SQLAlchemy's statement builders, and the session and connection methods that run or stage SQL.
QUERY_CONSTRUCTS = {"select", "update", "delete", "insert", "text", "exists", "func", "bindparam", "tuple_"}
SESSION_METHODS = {"execute", "scalars", "scalar", "get", "add", "add_all", "merge", "delete", "query"}
SESSION_NAME = re.compile(r"session$|connection$|^_?(db|conn)$")


def _all_imports(path: Path) -> set[str]:
    """Every module named by an import statement, inside the app or not."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _receiver_name(node: ast.expr) -> str | None:
    """`session` for `session.x`, `_session` for `self._session.x`: the last name before the method."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _queries(path: Path) -> list[str]:
    """Each place `path` builds or runs a query, as `line: what`."""
    tree = ast.parse(path.read_text())
    modules = set()  # names bound to sqlalchemy modules (`import sqlalchemy as sa`)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [f"{node.lineno}: imports {a.name}" for a in node.names if a.name in QUERY_CONSTRUCTS]
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name.split(".")[0] == "sqlalchemy")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in modules and node.attr in QUERY_CONSTRUCTS:
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        receiver = _receiver_name(node.value)
        if node.attr in SESSION_METHODS and receiver and SESSION_NAME.search(receiver.lower()):
            found.append(f"{node.lineno}: {receiver}.{node.attr}")
    return found


PATHS = {_module_name(path): path for path in sorted(APP.rglob("*.py"))}
QUERIES = {module: _queries(path) for module, path in PATHS.items()}


def _may_query(module: str) -> bool:
    return module in REPOSITORIES or module.endswith(".repository") or _within(module, "app.db")


def test_the_api_imports_neither_sqlalchemy_nor_the_database() -> None:
    offenders = {}
    for module, path in PATHS.items():
        # `from app import db` only shows as app.db in MODULES; `import sqlalchemy` only in _all_imports.
        names = _all_imports(path) | MODULES[module]
        forbidden = sorted(n for n in names if _within(n, "sqlalchemy") or _within(n, "app.db"))
        if _within(module, "app.api") and forbidden:
            offenders[module] = forbidden
    assert offenders == {}, "the API calls services; only repositories and app.db touch the database"


def test_queries_live_only_in_repositories() -> None:
    outside = {m: q for m, q in QUERIES.items() if q and not _may_query(m)}
    assert outside == {}, "move these queries into their aggregate's repository"
