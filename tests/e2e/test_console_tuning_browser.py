"""The console's tuning pages in real headless Chromium against the real server: a tuning job created by
boto3 shows up in the list, and its page fills in its trials, the best objective and the objective chart
as the trials finish, without a reload."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sagemaker_client
from tests.support.console_browser import chromium, require_browser, sign_in, tuning_search
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server

pytestmark = pytest.mark.e2e

TRIALS = 4
UI_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_browser()
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path_factory.mktemp("console-tuning") / "data", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def page(live: Server) -> Iterator[Any]:
    with chromium(require_browser()) as browser:
        signed_in = sign_in(browser, live.url, ROOT_KEY, ROOT_SECRET)
        signed_in.set_default_timeout(UI_TIMEOUT_MS)
        yield signed_in


def test_a_boto3_tuning_job_shows_its_trials_and_best_objective_without_a_reload(
    page: Any, live: Server, tmp_path: Path
) -> None:
    boto = sagemaker_client(live.url)
    page.goto("/console/tuning")
    page.evaluate("window.__notReloaded = true")
    boto.create_hyper_parameter_tuning_job(**tuning_search(tmp_path, "console-search", trials=TRIALS))
    page.locator('tr[data-tuning="console-search"]').wait_for()
    assert page.evaluate("window.__notReloaded") is True

    page.goto("/console/tuning-job/console-search")
    page.evaluate("window.__notReloaded = true")
    page.locator('#tuning-status [data-status="Completed"]').wait_for()
    assert page.evaluate("window.__notReloaded") is True

    described = boto.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="console-search")
    best = described["BestTrainingJob"]
    best_value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    rates = {row.get_attribute("data-trial"): row for row in page.locator("tr[data-trial]").all()}
    assert len(rates) == TRIALS
    assert page.locator("tr[data-best]").get_attribute("data-trial") == best["TrainingJobName"]
    for summary in boto.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="console-search"
    )["TrainingJobSummaries"]:
        rate = float(summary["TunedHyperParameters"]["learning_rate"])
        shown = float(rates[summary["TrainingJobName"]].locator("[data-objective]").inner_text())
        # What the trial printed, to its six decimals (a loss near 0.01's minimum has few digits left).
        assert shown == pytest.approx((math.log10(rate) + 2) ** 2, rel=1e-4, abs=5e-7)
    assert float(page.locator("#best-objective").inner_text().split()[0]) == pytest.approx(
        best_value, rel=1e-4
    )
    page.wait_for_function(f"window.consoleCharts.tuning && window.consoleCharts.tuning.scored === {TRIALS}")
    assert page.evaluate("window.consoleCharts.tuning.best") == pytest.approx(best_value)

    page.get_by_role("link", name="All tuning jobs").click()
    row = page.locator('tr[data-tuning="console-search"]')
    assert float(row.locator("[data-best-objective]").inner_text()) == pytest.approx(best_value, rel=1e-4)
    assert row.locator('[data-status="Completed"]').count() == 1
