"""The web console through the real ASGI app: sign-in and its cookie, sessions in the database, CSRF on
every change, account isolation, and the cookie counting for nothing outside `/console`."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.clock import FakeClock
from app.config import Settings
from app.console.downsample import THRESHOLD
from app.db.models import ConsoleSession
from app.jobs import repository
from app.jobs.metric_repository import Point
from tests.conftest import create_request, idle_app
from tests.support.callers import OTHER, ROOT, USER, client_as, role_arn, secret_of

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def app_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with idle_app(settings, clock=clock) as client:
        client_as(client, USER), client_as(client, OTHER)  # registers their keys
        yield client


def browser(api: TestClient) -> TestClient:
    """A client of the same app that signs nothing: only its cookies speak for it."""
    return TestClient(api.app, base_url=str(api.base_url), follow_redirects=False)


def signed_in(api: TestClient, caller=ROOT) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    client = browser(api)
    response = client.post(
        "/console/sign-in",
        data={"access_key_id": caller.access_key_id, "secret_access_key": secret_of(caller)},
    )
    assert response.status_code == 303, response.text
    page = client.get("/console/jobs")
    match = re.search(r'data-csrf="([0-9a-f]{64})"', page.text)
    assert match, page.text
    return client, match.group(1)


def make_job(api: TestClient, name: str, caller=ROOT) -> None:  # type: ignore[no-untyped-def]
    client = client_as(api, caller)
    body = create_request(name, RoleArn=role_arn(caller))
    assert client.post("/v1/training-jobs", json=body).status_code == 201


def test_pages_redirect_to_sign_in_without_a_session(app_client: TestClient) -> None:
    response = browser(app_client).get("/console/jobs")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    assert browser(app_client).get("/console/sign-in").status_code == 200


def test_a_wrong_secret_gets_no_session(app_client: TestClient) -> None:
    client = browser(app_client)
    response = client.post("/console/sign-in", data={"access_key_id": "test", "secret_access_key": "nope"})
    assert response.status_code == 401
    assert "set-cookie" not in response.headers


def test_the_cookie_is_http_only_strict_and_only_its_hash_is_stored(app_client: TestClient) -> None:
    client = browser(app_client)
    response = client.post("/console/sign-in", data={"access_key_id": "test", "secret_access_key": "test"})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    token = re.match(r"sagelite_console=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    services = app_client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as session:
        stored = [row.token_sha256 for row in session.query(ConsoleSession)]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


def test_the_jobs_page_lists_the_callers_jobs_only(app_client: TestClient) -> None:
    make_job(app_client, "mine")
    make_job(app_client, "theirs", OTHER)
    client, _ = signed_in(app_client)
    page = client.get("/console/jobs").text
    assert 'data-job="mine"' in page and "theirs" not in page
    assert client.get("/console/job/theirs").status_code == 404
    other, _ = signed_in(app_client, OTHER)
    assert 'data-job="theirs"' in other.get("/console/jobs/rows").text


def test_filters_sort_and_pages(app_client: TestClient) -> None:
    for i in range(55):
        make_job(app_client, f"job-{i:02d}")
    client, _ = signed_in(app_client)
    first = client.get("/console/jobs", params={"sort": "Name", "order": "Ascending"}).text
    names = re.findall(r'data-job="([^"]+)"', first)
    assert names == [f"job-{i:02d}" for i in range(50)]
    token = re.search(r'rel="next" href="/console/jobs\?([^"]+)"', first).group(1)  # type: ignore[union-attr]
    rest = client.get("/console/jobs?" + token.replace("&amp;", "&")).text
    assert re.findall(r'data-job="([^"]+)"', rest) == [f"job-{i:02d}" for i in range(50, 55)]
    filtered = client.get("/console/jobs", params={"name": "job-1", "status": "InProgress"}).text
    assert len(re.findall(r'data-job="', filtered)) == 10
    assert client.get("/console/jobs", params={"status": "Bogus"}).status_code == 400


def test_a_change_without_the_csrf_token_is_refused(app_client: TestClient) -> None:
    make_job(app_client, "keep-running")
    client, csrf = signed_in(app_client)
    refused = client.post("/console/job/keep-running/stop")
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert (
        client.post("/console/job/keep-running/stop", headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    )
    status = client_as(app_client, ROOT).get("/v1/training-jobs/keep-running").json()["TrainingJobStatus"]
    assert status == "InProgress"
    stopped = client.post("/console/job/keep-running/stop", headers={"X-CSRF-Token": csrf})
    assert stopped.status_code == 200
    assert client_as(app_client, ROOT).get("/v1/training-jobs/keep-running").json()["TrainingJobStatus"] in (
        "Stopping",
        "Stopped",
    )


def test_the_cookie_means_nothing_outside_the_console(app_client: TestClient) -> None:
    client, _ = signed_in(app_client)
    elsewhere = browser(app_client)
    elsewhere.cookies.set("sagelite_console", client.cookies["sagelite_console"], path="/")
    assert elsewhere.get("/console/jobs").status_code == 200
    # Everywhere else the edge wants a signature: a cookie is no credential there.
    assert elsewhere.get("/v1/training-jobs").status_code == 401
    assert (
        elsewhere.post("/", headers={"X-Amz-Target": "SageMaker.ListTrainingJobs"}, json={}).status_code
        == 400
    )


def test_sign_out_revokes_the_session_in_the_database(app_client: TestClient) -> None:
    client, csrf = signed_in(app_client)
    token = client.cookies["sagelite_console"]
    assert client.post("/console/sign-out", data={"csrf_token": csrf}).status_code == 303
    replay = browser(app_client)
    replay.cookies.set("sagelite_console", token, path="/console")
    assert replay.get("/console/jobs").status_code == 303


def test_sessions_expire(app_client: TestClient, clock: FakeClock, settings: Settings) -> None:
    client, _ = signed_in(app_client)
    clock.advance(settings.console_session_hours * 3600 - 1)
    assert client.get("/console/jobs").status_code == 200
    clock.advance(2)
    assert client.get("/console/jobs").status_code == 303


def test_revoking_the_key_ends_its_sessions(app_client: TestClient, clock: FakeClock) -> None:
    client, _ = signed_in(app_client, USER)
    app_client.app.state.services.identities.revoke(USER.access_key_id)  # type: ignore[attr-defined]
    assert client.get("/console/jobs").status_code == 303


def test_admin_pages_are_for_admins(app_client: TestClient) -> None:
    user, _ = signed_in(app_client, USER)
    assert user.get("/console/admin").status_code == 403
    admin, _ = signed_in(app_client)
    page = admin.get("/console/admin").text
    assert "Accounts" in page and OTHER.account_id in page


def test_clone_prefills_a_create_form_that_creates(app_client: TestClient) -> None:
    make_job(app_client, "original")
    client, csrf = signed_in(app_client)
    form = client.get("/console/jobs/new", params={"from": "original"}).text
    assert "original-clone" in form and "ml.m5.large" in form
    draft = re.search(r'<textarea id="request" name="request"[^>]*>(.*?)</textarea>', form, re.S)
    text = draft.group(1).replace("&#34;", '"').replace("&quot;", '"')  # type: ignore[union-attr]
    created = client.post("/console/jobs/new", data={"request": text, "csrf_token": csrf})
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/console/job/original-clone"
    assert client.get("/console/job/original-clone").status_code == 200


def test_metric_series_are_downsampled_past_the_threshold(app_client: TestClient) -> None:
    make_job(app_client, "curves")
    services = app_client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as session:
        row = repository.get(session, account_id=ROOT.account_id, name="curves")
        assert row is not None
        job_id = row.id
    few = [Point("loss", float(i), START + dt.timedelta(seconds=i)) for i in range(10)]
    many = [Point("acc", float(i % 97), START + dt.timedelta(seconds=i)) for i in range(5 * THRESHOLD)]
    services.metric_series.record(job_id, few + many)
    client, _ = signed_in(app_client)
    body = client.get("/console/job/curves/metrics.json").json()
    charts = {m["name"]: m for m in body["metrics"]}
    assert charts["loss"]["count"] == 10 and len(charts["loss"]["value"]) == 10
    assert charts["acc"]["count"] == 5 * THRESHOLD and len(charts["acc"]["value"]) == THRESHOLD
    assert min(charts["acc"]["value"]) == 0 and max(charts["acc"]["value"]) == 96
    assert body["threshold"] == THRESHOLD and body["live"] is True


def test_objects_upload_list_and_download(app_client: TestClient) -> None:
    signer = client_as(app_client, ROOT)
    assert signer.put("/v1/objects/data/seed.txt", content=b"seed").status_code == 201
    client, csrf = signed_in(app_client)
    assert 'href="/console/buckets/data"' in client.get("/console/objects").text
    put = client.put(
        "/console/buckets/data/object?key=dir/up.bin", content=b"\x00\x01up", headers={"X-CSRF-Token": csrf}
    )
    assert put.status_code == 201, put.text
    assert client.put("/console/buckets/data/object?key=x", content=b"x").status_code == 403
    listing = client.get("/console/buckets/data").text
    assert "dir/" in listing and "seed.txt" in listing
    assert client.get("/console/buckets/data/object", params={"key": "dir/up.bin"}).content == b"\x00\x01up"
    other, _ = signed_in(app_client, OTHER)
    assert other.get("/console/buckets/data").status_code == 403


def test_hosts_page_shows_capacity_bars(app_client: TestClient) -> None:
    client, _ = signed_in(app_client)
    page = client.get("/console/hosts").text
    assert 'role="meter"' in page and "vCPUs" in page


def test_static_assets_are_served_with_their_licences() -> None:
    static = Path(__file__).resolve().parents[2] / "app" / "console" / "static"
    for name in ("htmx.min.js", "htmx.LICENSE", "uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"):
        assert (static / name).stat().st_size > 0


def test_changes_through_the_console_join_the_audit_trail(app_client: TestClient) -> None:
    make_job(app_client, "audited")
    stranger, stranger_csrf = signed_in(app_client, OTHER)
    refused = stranger.post("/console/job/audited/stop", headers={"X-CSRF-Token": stranger_csrf})
    assert refused.status_code == 404
    client, csrf = signed_in(app_client, USER)
    assert client.post("/console/job/audited/stop", headers={"X-CSRF-Token": csrf}).status_code == 200
    events = app_client.app.state.services.audit.events()  # type: ignore[attr-defined]
    seen = {(e.operation, e.outcome, e.access_key_id) for e in events}
    stop = "console POST /console/job/{name}/stop"
    assert ("console POST /console/sign-in", "Success", USER.access_key_id) in seen
    assert (stop, "ValidationException", OTHER.access_key_id) in seen
    assert (stop, "Success", USER.access_key_id) in seen


def test_another_site_cannot_sign_a_browser_in(app_client: TestClient) -> None:
    client = browser(app_client)
    response = client.post(
        "/console/sign-in",
        data={"access_key_id": "test", "secret_access_key": "test"},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_the_cookie_is_secure_over_https(app_client: TestClient) -> None:
    client = TestClient(app_client.app, base_url="https://testserver", follow_redirects=False)
    response = client.post("/console/sign-in", data={"access_key_id": "test", "secret_access_key": "test"})
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]
    assert (
        "Secure"
        not in browser(app_client)
        .post("/console/sign-in", data={"access_key_id": "test", "secret_access_key": "test"})
        .headers["set-cookie"]
    )
