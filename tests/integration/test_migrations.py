"""Migrations build exactly the schema the models declare, and every SQLite connection gets its pragmas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from app.db import migrate, models
from app.db.base import Base
from app.db.session import BUSY_TIMEOUT_MS, make_engine


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'sagelite.db'}"


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_upgrade_head_leaves_no_autogenerate_diff(url: str, engine: Engine) -> None:
    migrate.upgrade(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_reaches_the_single_head_and_is_idempotent(url: str, engine: Engine) -> None:
    migrate.upgrade(url)
    migrate.upgrade(url)
    heads = ScriptDirectory.from_config(migrate.alembic_config(url)).get_heads()
    assert len(heads) == 1, f"migrations have branched: {heads}"
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == tuple(heads)
        tables = set(inspect(connection).get_table_names())
    assert {models.TrainingJob.__tablename__, models.Tag.__tablename__, "alembic_version"} <= tables
    assert set(Base.metadata.tables) <= tables


def test_the_diff_check_would_notice_a_missing_table(url: str, engine: Engine) -> None:
    migrate.upgrade(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE tags"))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [(kind, table.name) for kind, table in diff] == [("add_table", "tags")]


def test_sqlite_connections_get_wal_foreign_keys_and_a_busy_timeout(url: str, engine: Engine) -> None:
    migrate.upgrade(url)
    engine.pool.dispose()  # pragmas are set per new connection, check a fresh one and a pooled one
    for _ in range(2):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    assert BUSY_TIMEOUT_MS >= 1000


def test_make_engine_creates_the_database_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "db.sqlite"
    engine = make_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert target.exists()
