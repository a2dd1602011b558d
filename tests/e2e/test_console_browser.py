"""The web console in real headless Chromium against the real server: one server and one browser for the
module. What the issue asks to see: sign-in; a boto3 job appearing and turning Completed without a
reload; chart points equal to the emitted count below the threshold and to the threshold above it with
min and max kept; the log followed live; stop from the page; pause and resume a VM; the model download
equal to REST's bytes; another account's job invisible; a form posted without the CSRF token refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.client import SageMakerClient
from app.console.downsample import THRESHOLD
from tests.conftest import sagemaker_client
from tests.support.console_browser import chromium, metric_job, require_browser, sign_in
from tests.support.jobs import wait_terminal
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server, signed

pytestmark = pytest.mark.e2e

FEW = 40  # points of the small job: below the threshold
MANY = 2 * THRESHOLD + 500  # points of the large one: past it
UI_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def executable() -> str:
    return require_browser()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, executable: str) -> Iterator[Server]:
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2", "SAGELITE_STOP_GRACE_SECONDS": "2"}
    with running_server(tmp_path_factory.mktemp("console") / "data", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def browser(executable: str) -> Iterator[Any]:
    with chromium(executable) as running:
        yield running


@pytest.fixture(scope="module")
def boto(live: Server) -> Any:
    return sagemaker_client(live.url)


@pytest.fixture(scope="module")
def page(browser: Any, live: Server) -> Any:
    signed_in = sign_in(browser, live.url, ROOT_KEY, ROOT_SECRET)
    signed_in.set_default_timeout(UI_TIMEOUT_MS)
    return signed_in


def test_a_wrong_secret_is_refused_and_the_right_one_signs_in(browser: Any, live: Server) -> None:
    context = browser.new_context(base_url=live.url)
    try:
        form = context.new_page()
        form.goto("/console/jobs")
        assert form.url.endswith("/console/sign-in")
        form.get_by_label("Access key ID").fill(ROOT_KEY)
        form.get_by_label("Secret access key").fill("not-the-secret")
        form.get_by_role("button", name="Sign in").click()
        assert "do not match" in form.get_by_role("alert").inner_text()
        cookies = context.cookies()
        assert not cookies
    finally:
        context.close()


def test_a_boto3_job_appears_and_completes_without_a_reload(page: Any, boto: Any, tmp_path: Path) -> None:
    page.goto("/console/jobs")
    page.evaluate("window.__notReloaded = true")
    boto.create_training_job(**metric_job(tmp_path, "curve-small", points=FEW, seconds_between=0.02))
    row = page.locator('tr[data-job="curve-small"]')
    row.wait_for()
    row.locator('[data-status="Completed"]').wait_for()
    assert page.evaluate("window.__notReloaded") is True
    assert wait_terminal(boto, "curve-small")["TrainingJobStatus"] == "Completed"


def test_charts_hold_every_point_below_the_threshold_and_a_min_max_downsample_past_it(
    page: Any, boto: Any, live: Server, tmp_path: Path
) -> None:
    boto.create_training_job(**metric_job(tmp_path, "curve-large", points=MANY))
    assert wait_terminal(boto, "curve-small")["TrainingJobStatus"] == "Completed"
    page.goto("/console/job/curve-small")
    page.locator('figure[data-metric="loss"][data-points]').wait_for()
    assert page.evaluate("window.consoleCharts.points.loss") == FEW

    assert wait_terminal(boto, "curve-large")["TrainingJobStatus"] == "Completed"
    page.goto("/console/job/curve-large")
    page.locator('figure[data-metric="loss"][data-points]').wait_for()
    assert page.evaluate("window.consoleCharts.points.loss") == THRESHOLD
    with signed() as rest:
        full = rest.get(f"{live.url}/v1/training-jobs/curve-large/metrics").json()["metrics"]["loss"]
    values = [p["value"] for p in full]
    assert len(values) == MANY
    assert page.evaluate("window.consoleCharts.extremes.loss") == [min(values), max(values)]


def test_pause_resume_and_stop_from_the_page(page: Any, boto: Any, live: Server, tmp_path: Path) -> None:
    boto.create_training_job(
        **metric_job(tmp_path, "long-run", points=5, seconds_between=0.1, then_sleep=300)
    )
    page.goto("/console/job/long-run")
    page.locator('[data-vm-state="Running"]').wait_for()
    # The log follows by server-sent events: the last line the job prints arrives without a reload.
    page.wait_for_function(
        """() => [...document.querySelectorAll('#logs pre[data-log-host]')]
                 .some(pre => pre.textContent.includes('step=4 '))"""
    )
    page.get_by_role("button", name="Pause").click()
    page.locator('[data-vm-state="Paused"]').wait_for()
    assert _vm_states(live, "long-run") == ["Paused"]
    page.get_by_role("button", name="Resume").click()
    page.locator('[data-vm-state="Running"]').wait_for()
    assert _vm_states(live, "long-run") == ["Running"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop job").click()
    page.locator('#job-status [data-status="Stopped"]').wait_for()
    assert boto.describe_training_job(TrainingJobName="long-run")["TrainingJobStatus"] == "Stopped"


def test_the_model_download_is_the_rest_download(page: Any, boto: Any, live: Server) -> None:
    assert wait_terminal(boto, "curve-small")["TrainingJobStatus"] == "Completed"
    page.goto("/console/job/curve-small")
    with page.expect_download() as caught:
        page.locator("#download-model").click()
    downloaded = Path(caught.value.path()).read_bytes()
    with signed() as rest:
        expected = rest.get(f"{live.url}/v1/training-jobs/curve-small/model").content
    assert downloaded == expected and len(expected) > 0


def test_another_accounts_job_is_invisible(browser: Any, page: Any, boto: Any, live: Server) -> None:
    admin = SageMakerClient(
        endpoint_url=live.url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET
    )
    other = admin.create_account("console-other")
    wait_terminal(boto, "curve-small")
    theirs = sign_in(browser, live.url, other["AccessKeyId"], other["SecretAccessKey"])
    try:
        assert theirs.locator("tr[data-job]").count() == 0
        assert "curve-small" not in theirs.content()
        response = theirs.goto("/console/job/curve-small")
        assert response is not None and response.status == 404
        assert theirs.request.get("/console/job/curve-small/metrics.json").status == 404
    finally:
        theirs.context.close()
    page.goto("/console/jobs")
    assert page.locator('tr[data-job="curve-small"]').count() == 1


def test_a_form_posted_without_the_csrf_token_fails(page: Any, boto: Any, tmp_path: Path) -> None:
    boto.create_training_job(**metric_job(tmp_path, "csrf-target", points=1, then_sleep=300))
    page.goto("/console/jobs")
    with page.expect_navigation():
        page.evaluate(
            """() => { const f = document.createElement('form'); f.method = 'post';
                       f.action = '/console/job/csrf-target/stop';
                       document.body.appendChild(f); f.submit(); }"""
        )
    assert "CSRF" in page.content()
    assert page.request.post("/console/job/csrf-target/stop").status == 403
    assert boto.describe_training_job(TrainingJobName="csrf-target")["TrainingJobStatus"] == "InProgress"
    boto.stop_training_job(TrainingJobName="csrf-target")
    wait_terminal(boto, "csrf-target")


def _vm_states(live: Server, job: str) -> list[str]:
    with signed() as rest:
        vms = rest.get(f"{live.url}/v1/vms", params={"job": job}).json()["vms"]
    return [vm["state"] for vm in vms]
