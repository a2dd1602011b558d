"""`make screenshots`: the console's main pages as PNGs in the folder given (docs/), taken with the browser
tests' own code against a real server seeded with a few real jobs.

    .venv/bin/python -m tests.support.console_screenshots docs
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3

from tests.conftest import sagemaker_client
from tests.support.console_browser import chromium, metric_job, require_browser, sign_in, tuning_search
from tests.support.jobs import wait_terminal
from tests.support.polling import wait_until
from tests.support.server import DUMMY_CREDENTIALS, ROOT_KEY, ROOT_SECRET, running_server

PHONE = {"width": 390, "height": 844}


def seed(url: str, work: Path) -> None:
    boto = sagemaker_client(url)
    for name, points in (("resnet-lr-0-1", 400), ("resnet-lr-0-01", 400)):
        boto.create_training_job(**metric_job(work, name, points=points))
    boto.create_training_job(
        **metric_job(work, "bert-finetune", points=30, seconds_between=0.1, then_sleep=600)
    )
    boto.create_hyper_parameter_tuning_job(**tuning_search(work, "resnet-lr-search", trials=8, parallel=2))
    for name in ("resnet-lr-0-1", "resnet-lr-0-01"):
        wait_terminal(boto, name)
    wait_until(
        lambda: boto.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="resnet-lr-search"),
        until=lambda tuning: tuning["HyperParameterTuningJobStatus"] == "Completed",
        what="the tuning job to complete",
        timeout=300,
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket="datasets")
    for key in ("imagenet/train/part-0000.rec", "imagenet/train/part-0001.rec", "imagenet/labels.csv"):
        s3.put_object(Bucket="datasets", Key=key, Body=b"x" * 2048)


def shoot(page: Any, path: str, out: Path, *, ready: str | None = None) -> None:
    page.goto(path)
    if ready:
        page.locator(ready).first.wait_for()
    page.wait_for_timeout(300)  # let a chart finish laying out
    page.screenshot(path=str(out), full_page=True)


def main(target: Path) -> None:
    executable = require_browser()
    target.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="sagelite-screens-") as tmp,
        running_server(Path(tmp) / "data") as server,
    ):
        seed(server.url, Path(tmp))
        with chromium(executable) as browser:
            anonymous = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 720})
            shoot(anonymous.new_page(), "/console/sign-in", target / "console-sign-in.png")
            page = sign_in(browser, server.url, ROOT_KEY, ROOT_SECRET)
            shoot(page, "/console/jobs", target / "console-jobs.png", ready="tr[data-job]")
            shoot(page, "/console/job/resnet-lr-0-1", target / "console-job.png", ready="figure[data-points]")
            shoot(
                page,
                "/console/job/bert-finetune",
                target / "console-job-running.png",
                ready="[data-vm-state]",
            )
            compare = "/console/compare?job=resnet-lr-0-1&job=resnet-lr-0-01"
            shoot(page, compare, target / "console-compare.png", ready="figure[data-points]")
            tuning = "/console/tuning-job/resnet-lr-search"
            shoot(
                page, tuning, target / "console-tuning.png", ready='#tuning-status [data-status="Completed"]'
            )
            shoot(page, "/console/hosts", target / "console-hosts.png", ready=".host")
            shoot(page, "/console/buckets/datasets?prefix=imagenet/", target / "console-objects.png")
            shoot(page, "/console/admin", target / "console-admin.png")
            phone = sign_in(browser, server.url, ROOT_KEY, ROOT_SECRET, **PHONE)
            shoot(
                phone,
                "/console/job/resnet-lr-0-1",
                target / "console-job-phone.png",
                ready="figure[data-points]",
            )
        sagemaker_client(server.url).stop_training_job(TrainingJobName="bert-finetune")
    print(f"screenshots written to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
