"""A PostgreSQL server for the tests: the one `SAGELITE_TEST_DATABASE_URL` names, or Debian's `postgresql`
started for the test run (initdb + pg_ctl in a temporary folder, on a free port of 127.0.0.1, as the
`postgres` user when run as root) and removed at the end. Each test gets a fresh database, copied from a
migrated template, so no test sees another's rows and none pays for the migrations.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from app.db import migrate
from tests.support.server import free_port

URL_VARIABLE = "SAGELITE_TEST_DATABASE_URL"
TEMPLATE = "sagelite_template"
_START_SECONDS = 60


class PostgresUnavailable(Exception):
    """Neither a server was named nor Debian's `postgresql` is installed."""


@dataclass
class Postgres:
    """A server the tests may create and drop databases on, through `admin` (a URL of a maintenance db)."""

    admin: URL
    # A private server is removed whole at the end; on a named one, the databases made here are dropped.
    private: bool
    created: list[str] = field(default_factory=list)
    _template_ready: bool = False

    def fresh_database(self) -> str:
        """A new, migrated, empty database; its SQLAlchemy URL."""
        if not self._template_ready:
            self._execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"', f'CREATE DATABASE "{TEMPLATE}"')
            migrate.upgrade(self._url_of(TEMPLATE))
            self._template_ready = True
        name = f"sagelite_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        self.created.append(name)
        return self._url_of(name)

    def drop_all(self) -> None:
        if self.private:
            return
        names = [*self.created, TEMPLATE]
        self._execute(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names))
        self.created.clear()

    def _url_of(self, database: str) -> str:
        return self.admin.set(database=database).render_as_string(hide_password=False)

    def _execute(self, *statements: str) -> None:
        engine = create_engine(self.admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()


@contextmanager
def postgres_for_tests() -> Iterator[Postgres]:
    """The named server, or a private one for this test run; every database made here is dropped after."""
    named = os.environ.get(URL_VARIABLE)
    with contextlib.ExitStack() as stack:
        admin = make_url(named) if named else stack.enter_context(_private_server())
        server = Postgres(admin=admin, private=not named)
        try:
            yield server
        finally:
            server.drop_all()


def _binaries() -> Path:
    """Debian installs each major version's programs under /usr/lib/postgresql/<version>/bin."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found is None:
        raise PostgresUnavailable("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return Path(found).parent


@contextmanager
def _private_server() -> Iterator[URL]:
    bin_dir = _binaries()
    root = Path(tempfile.mkdtemp(prefix="sagelite-pg-"))
    # initdb refuses to run as root: the cluster belongs to `postgres`, as Debian's own clusters do.
    user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port = root / "data", free_port()
    run = _runner(user)
    try:
        run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
        # Durability is worthless for throwaway test data: no fsync makes each test's CREATE DATABASE cheap.
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        options += " -c synchronous_commit=off -c full_page_writes=off"
        run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
             "-t", str(_START_SECONDS), "start"])  # fmt: skip
        try:
            yield make_url(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
        finally:
            run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _runner(user: pwd.struct_passwd | None) -> Callable[[list[str]], None]:
    def run(command: list[str]) -> None:
        preexec = None
        if user is not None:
            uid, gid = user.pw_uid, user.pw_gid

            def preexec() -> None:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

        subprocess.run(
            command, check=True, capture_output=True, preexec_fn=preexec, cwd="/", timeout=_START_SECONDS
        )

    return run
