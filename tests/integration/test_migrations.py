"""Migrations build exactly the schema the models declare, and every SQLite connection gets its pragmas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from app.db import migrate, models
from app.db.base import Base
from app.db.session import BUSY_TIMEOUT_MS, make_engine
from tests.support.postgres import Postgres


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


def test_account_ownership_keeps_every_row_and_gives_it_the_account_its_arn_names(
    url: str, engine: Engine
) -> None:
    command.upgrade(migrate.alembic_config(url), "5ec0a11d0001")
    now = "2026-01-01 00:00:00.000000"
    with engine.begin() as connection:
        for job_id, account in ((1, "123456789012"), (2, "444455556666")):
            connection.execute(
                text(
                    "INSERT INTO training_jobs (id, name, name_key, arn, status, secondary_status, request, "
                    "transitions, creation_time, last_modified_time) VALUES (:id, :name, :name, :arn, "
                    "'InProgress', 'Training', '{}', '[]', :now, :now)"
                ),
                {"id": job_id, "name": f"job-{job_id}", "arn": _arn(account, f"job-{job_id}"), "now": now},
            )
            connection.execute(
                text("INSERT INTO tags (resource_arn, key, value) VALUES (:arn, 'team', 'ml')"),
                {"arn": _arn(account, f"job-{job_id}")},
            )
        connection.execute(text("INSERT INTO hosts VALUES ('h1', 8, 32, 0, 100)"))
        connection.execute(
            text(
                "INSERT INTO vms (id, job_id, host, hostname, instance_type, vcpus, memory_gib, gpus, "
                "disk_gib, state, deadline_at) "
                "VALUES ('vm-1', 1, 'h1', 'algo-1', 'ml.m5.large', 2, 8, 0, 1, 'Running', :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text("INSERT INTO metric_points (job_id, name, value, timestamp) VALUES (2, 'loss', 0.5, :now)"),
            {"now": now},
        )

    migrate.upgrade(url)

    with engine.connect() as connection:
        jobs = connection.execute(text("SELECT id, account_id FROM training_jobs ORDER BY id")).all()
        tags = connection.execute(text("SELECT account_id FROM tags ORDER BY resource_arn")).scalars().all()
        # Rebuilding training_jobs must not cascade-delete what refers to it.
        assert connection.execute(text("SELECT job_id FROM vms")).scalars().all() == [1]
        assert connection.execute(text("SELECT job_id FROM metric_points")).scalars().all() == [2]
    assert jobs == [(1, "123456789012"), (2, "444455556666")]
    assert tags == ["123456789012", "444455556666"]


def test_names_are_unique_per_account_only(url: str, engine: Engine) -> None:
    migrate.upgrade(url)
    insert = text(
        "INSERT INTO training_jobs (account_id, name, name_key, arn, status, secondary_status, request, "
        "transitions, creation_time, last_modified_time) VALUES (:account, 'job-a', 'job-a', :arn, "
        "'InProgress', 'Pending', '{}', '[]', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    with engine.begin() as connection:
        for account in ("123456789012", "444455556666"):
            connection.execute(insert, {"account": account, "arn": _arn(account, "job-a")})
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert, {"account": "444455556666", "arn": _arn("444455556666", "job-a")})


def _arn(account: str, name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{account}:training-job/{name}"


def test_the_same_migrations_build_the_models_schema_on_postgresql(postgres: Postgres) -> None:
    url = postgres.fresh_database()  # migrated to head from the template
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert connection.dialect.name == "postgresql"
    finally:
        engine.dispose()
    migrate.upgrade(url)  # idempotent there too
