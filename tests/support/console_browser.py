"""Driving the web console in Debian's chromium through Playwright: the browser tests, `make screenshots`
and the console benchmark share this code. Never a downloaded browser: `executable_path` is the system's."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.script_jobs import script_job, source

CHROMIUM_NAMES = ("chromium", "chromium-browser")
# The boto3-created jobs' metric line; MetricDefinitions turn it into points.
METRICS = [{"Name": "loss", "Regex": r"loss=([-0-9.e]+)"}, {"Name": "accuracy", "Regex": r"acc=([0-9.]+)"}]


def chromium_path() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_browser() -> str:
    """The system chromium; without one (or without Playwright) skip, except under CI where it fails."""
    path = chromium_path()
    missing = []
    if path is None:
        missing.append("chromium (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[browser-tests]')")
    if missing:
        reason = "the console's browser tests need " + " and ".join(missing) + "; `make test` installs them"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert path is not None
    return path


@contextmanager
def chromium(executable: str) -> Iterator[Any]:
    """One headless browser; `--no-sandbox` as Chromium refuses its sandbox as root (CI runs as root)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser: Any, url: str, key: str, secret: str, *, width: int = 1280, height: int = 900) -> Any:
    """A new browser context (its own cookies) signed in through the form; returns its page."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=url, accept_downloads=True
    )
    page = context.new_page()
    page.goto("/console/sign-in")
    page.get_by_label("Access key ID").fill(key)
    page.get_by_label("Secret access key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/jobs")
    return page


def metric_job(
    tmp_path: Path, name: str, *, points: int, seconds_between: float = 0.0, then_sleep: float = 0
) -> dict[str, Any]:
    """A script job printing `points` loss and accuracy values (a curve with one spike), then sleeping."""
    code = source(
        tmp_path,
        name,
        f"""
        import math, time
        for i in range({points}):
            loss = 3.0 * math.exp(-i / {max(points, 1) / 4}) + (9.5 if i == {points // 3} else 0.0)
            print(f"step={{i}} loss={{loss:.6f}} acc={{min(1.0, i / {max(points, 1)}):.4f}}", flush=True)
            if {seconds_between}:
                time.sleep({seconds_between})
        time.sleep({then_sleep})
        """,
    )
    request = script_job(name, code)
    request["AlgorithmSpecification"]["MetricDefinitions"] = METRICS
    return request


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


def tuning_search(tmp_path: Path, name: str, *, trials: int, parallel: int = 2) -> dict[str, Any]:
    """A Random search over script-mode trials whose `loss` is a known function of the learning rate
    (least at 0.01): quick trials, and an objective the tests can predict from the hyperparameters."""
    code = source(
        tmp_path,
        name,
        """
        import json, math, os
        rate = float(json.loads(os.environ["SM_HPS"])["learning_rate"])
        print(f"loss={(math.log10(rate) + 2) ** 2:.6f}", flush=True)
        """,
    )
    trial = script_job(name, code)
    algorithm = trial["AlgorithmSpecification"] | {"MetricDefinitions": METRICS[:1]}
    rate = {"Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "1", "ScalingType": "Logarithmic"}
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": parallel},
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ParameterRanges": {"ContinuousParameterRanges": [rate]},
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": trial["HyperParameters"],
            "AlgorithmSpecification": algorithm,
            **{key: trial[key] for key in ("RoleArn", "OutputDataConfig", "ResourceConfig")},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }
