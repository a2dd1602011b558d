"""The web console's two performance goals, measured side by side with their budgets.

    .venv/bin/python bench/console.py [--jobs 10000] [--points 100000] [--rounds 30]

1. Server time of the jobs page over `--jobs` training jobs (created through the real service): the
   median of `--rounds` requests of `/console/jobs` (default sort, a name filter, a status filter,
   sorted by name), in-process through the ASGI app, next to REST's `GET /v1/training-jobs` page of
   the same size, and the 200 ms goal.
2. The min/max downsample of a metric series of `--points` values on the bench's database: candidates
   picked by window functions in the database, next to the whole series read into Python and downsampled
   there (`--database-url postgresql+psycopg://...` measures PostgreSQL).
3. The same series rendered in headless Debian chromium (Playwright) on the job
   page after the server's min/max downsampling: the uPlot draw, and fetch-to-drawn (the request, the
   downsampling, JSON, drawing), next to the 1 s goal.

Needs `make test`'s browser extra and chromium for part 2 (`make bench-console`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from app.auth.caller import Caller  # noqa: E402
from app.config import Settings  # noqa: E402
from app.console import downsample  # noqa: E402
from app.console import repository as console_repository  # noqa: E402
from app.db import migrate  # noqa: E402
from app.jobs import repository  # noqa: E402
from app.jobs.metric_repository import Point  # noqa: E402
from app.main import create_app  # noqa: E402
from app.services import Services, build  # noqa: E402
from tests.conftest import create_request  # noqa: E402
from tests.support.callers import ROOT as ROOT_CALLER  # noqa: E402
from tests.support.callers import auth_for  # noqa: E402
from tests.support.console_browser import chromium, chromium_path, sign_in  # noqa: E402
from tests.support.server import ROOT_KEY, ROOT_SECRET, free_port  # noqa: E402

PAGE_GOAL_MS = 200.0
RENDER_GOAL_MS = 1000.0
CHART_JOB = "bench-curve"


def seed_jobs(services: Services, count: int) -> float:
    caller = Caller(account_id=ROOT_CALLER.account_id, access_key_id=ROOT_KEY, is_admin=True)
    started = time.perf_counter()
    for i in range(count):
        services.jobs.create(create_request(f"bench-{i:05d}"), caller=caller)
    services.jobs.create(create_request(CHART_JOB), caller=caller)
    return time.perf_counter() - started


def seed_points(services: Services, count: int) -> None:
    with services.sessions() as session:
        job = repository.get(session, account_id=ROOT_CALLER.account_id, name=CHART_JOB)
        assert job is not None
        job_id = job.id
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    points = [
        Point(
            "loss", 3.0 / (1 + i / 1000) + (5.0 if i == count // 2 else 0.0), start + dt.timedelta(seconds=i)
        )
        for i in range(count)
    ]
    services.metric_series.record(job_id, points)


def median_ms(call: Callable[[], Any], rounds: int) -> float:
    call()  # warm caches and the template compiler
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def page_times(app: Any, rounds: int) -> None:
    client = TestClient(app, follow_redirects=False)
    signed_in = client.post(
        "/console/sign-in", data={"access_key_id": ROOT_KEY, "secret_access_key": ROOT_SECRET}
    )
    assert signed_in.status_code == 303, signed_in.text
    rest = TestClient(app)
    rest.auth = auth_for(ROOT_CALLER)
    # Each page next to REST's ListTrainingJobs with the same filters: the ratio is the page's own cost.
    queries = {
        "newest first": ("", "SortOrder=Descending"),
        "name contains '123'": ("?name=123", "NameContains=123&SortOrder=Descending"),
        "status InProgress": ("?status=InProgress", "StatusEquals=InProgress&SortOrder=Descending"),
        "sorted by name": ("?sort=Name&order=Ascending", "SortBy=Name&SortOrder=Ascending"),
    }
    print(
        f"{'jobs page (50 rows)':32} {'median ms':>10} {'REST list ms':>13} "
        f"{'page/REST':>10} {'page/goal':>10}"
    )
    for label, (query, listing) in queries.items():
        ms = median_ms(lambda q=query: _ok(client.get(f"/console/jobs{q}")), rounds)
        url = f"/v1/training-jobs?MaxResults=50&{listing}"
        reference = median_ms(lambda u=url: _ok(rest.get(u)), rounds)
        print(f"{label:32} {ms:10.1f} {reference:13.1f} {ms / reference:10.2f} {ms / PAGE_GOAL_MS:10.2f}")


def series_times(services: Services, points: int, rounds: int) -> None:
    """The long series' downsample on this database both ways: candidates picked by window functions in
    the database, next to the whole series read into Python and downsampled there (`charts` uses the
    first on PostgreSQL, the second on SQLite: these figures are why)."""
    with services.sessions() as session:
        job_id = console_repository.job_id(session, account_id=ROOT_CALLER.account_id, job_name=CHART_JOB)
        dialect = session.get_bind().dialect.name
    assert job_id is not None

    def in_database() -> None:
        with services.sessions() as session:
            downsample.choose(
                console_repository.bucket_extremes(
                    session, job_id=job_id, name="loss", count=points, buckets=downsample.BUCKETS
                )
            )

    def in_memory() -> None:
        with services.sessions() as session:
            rows = console_repository.metric_values(session, job_id=job_id, names=["loss"])
        downsample.downsample(range(len(rows)), [value for _, value, _ in rows])

    db_ms, memory_ms = median_ms(in_database, rounds), median_ms(in_memory, rounds)
    print(f"\n{points:,}-point series on {dialect}{'median ms':>24} {'in-memory ms':>13} {'db/memory':>10}")
    print(f"{'downsampled in the database':40} {db_ms:10.1f} {memory_ms:13.1f} {db_ms / memory_ms:10.2f}")


def _ok(response: Any) -> None:
    assert response.status_code == 200, response.text[:200]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def render_times(app: Any, points: int, rounds: int) -> None:
    executable = chromium_path()
    if executable is None:
        print("no chromium: the browser render time was not measured (make bench-console installs it)")
        return
    draws, loads = [], []
    with serving(app) as url, chromium(executable) as browser:
        page = sign_in(browser, url, ROOT_KEY, ROOT_SECRET)
        for _ in range(rounds):
            page.goto(f"/console/job/{CHART_JOB}")
            page.wait_for_function("window.consoleCharts && window.consoleCharts.loadMs !== undefined")
            draws.append(page.evaluate("window.consoleCharts.renderMs[0]"))
            loads.append(page.evaluate("window.consoleCharts.loadMs"))
            drawn = page.evaluate("window.consoleCharts.points.loss")
        page.context.close()
    draw, load = statistics.median(draws), statistics.median(loads)
    print(f"\n{points:,}-point series -> {drawn} points   {'median ms':>10} {'goal ms':>8} {'ms/goal':>8}")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'uPlot draw':40} {draw:10.1f} {RENDER_GOAL_MS:8.0f} {draw / RENDER_GOAL_MS:8.3f}")
    print(
        f"{'fetch + downsample + JSON + draw':40} {load:10.1f} {RENDER_GOAL_MS:8.0f} "
        f"{load / RENDER_GOAL_MS:8.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sagelite-bench-console-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=args.database_url)
        settings.data_dir.mkdir(parents=True)
        migrate.upgrade(settings.resolved_database_url)
        services = build(settings)  # the scheduler never starts: the seeded jobs stay InProgress
        try:
            seconds = seed_jobs(services, args.jobs)
            print(f"seeded {args.jobs:,} jobs through the service in {seconds:.1f} s")
            seed_points(services, args.points)
            app = create_app(settings, services=services)
            with TestClient(app):  # runs the lifespan (the S3 app) once for both parts
                page_times(app, args.rounds)
                series_times(services, args.points, rounds=min(args.rounds, 10))
                render_times(app, args.points, rounds=min(args.rounds, 5))
        finally:
            services.close()


if __name__ == "__main__":
    main()
