"""Authentication end to end, with the real server and real clients: boto3 and the AWS CLI get AWS's
error codes, presigned links (boto3's, `aws s3 presign`'s, `app.client`'s and `sagelite jobs download
--presign`'s) work in curl until they expire, and curl signs REST calls itself."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import numpy as np
import pytest
from botocore import UNSIGNED, auth
from botocore.config import Config
from botocore.exceptions import ClientError

from app.cli import run
from app.client import SageMakerClient
from tests.conftest import create_request
from tests.support.jobs import wait_terminal
from tests.support.server import DUMMY_CREDENTIALS, ROOT_KEY, ROOT_SECRET, Server, running_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl"),
]

CURL = ["curl", "-sS", "--max-time", "30"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path_factory.mktemp("auth") / "data", env=env) as server:
        yield server


def sagemaker(url: str, key: str = ROOT_KEY, secret: str = ROOT_SECRET, **config: Any) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def s3(
    url: str, key: str = ROOT_KEY, secret: str = ROOT_SECRET, token: str | None = None, **config: Any
) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            s3={"addressing_style": "path"},
            signature_version=config.pop("signature_version", "s3v4"),
            retries={"max_attempts": 1},
            **config,
        ),
    )


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


def signed_in_the_past(monkeypatch: pytest.MonkeyPatch, age: dt.timedelta) -> None:
    """botocore signs with a clock `age` behind the real one (a client whose clock is off)."""
    monkeypatch.setattr(auth, "get_current_datetime", lambda *a, **k: dt.datetime.utcnow() - age)


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CURL, *args], capture_output=True, timeout=60, check=False)


# -- the AWS JSON protocol, through boto3 -------------------------------------------------------------------


def test_boto3_sagemaker_refusals_carry_aws_codes(live: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    unsigned = sagemaker(live.url, signature_version=UNSIGNED)
    assert error_of(unsigned.list_training_jobs)[:2] == ("MissingAuthenticationTokenException", 400)
    unknown = sagemaker(live.url, key="AKIAUNKNOWNKEY000000")
    assert error_of(unknown.list_training_jobs)[:2] == ("UnrecognizedClientException", 400)
    wrong = sagemaker(live.url, secret="not-the-secret")
    create = lambda: wrong.create_training_job(**create_request("never"))  # noqa: E731
    assert error_of(create)[:2] == ("InvalidSignatureException", 400)
    signed_in_the_past(monkeypatch, dt.timedelta(minutes=20))
    code, status, message = error_of(sagemaker(live.url).list_training_jobs)
    assert (code, status) == ("InvalidSignatureException", 400) and message.startswith("Signature expired")
    monkeypatch.undo()
    names = [s["TrainingJobName"] for s in sagemaker(live.url).list_training_jobs()["TrainingJobSummaries"]]
    assert "never" not in names


# -- S3, through boto3 and raw ------------------------------------------------------------------------------


def test_boto3_s3_refusals_carry_s3_codes(live: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    s3(live.url).create_bucket(Bucket="auth-e2e")
    put = lambda client: lambda: client.put_object(Bucket="auth-e2e", Key="k", Body=b"x")  # noqa: E731
    assert error_of(put(s3(live.url, signature_version=UNSIGNED)))[:2] == ("AccessDenied", 403)
    assert error_of(put(s3(live.url, key="AKIAUNKNOWNKEY000000")))[:2] == ("InvalidAccessKeyId", 403)
    assert error_of(put(s3(live.url, secret="wrong")))[:2] == ("SignatureDoesNotMatch", 403)
    signed_in_the_past(monkeypatch, dt.timedelta(minutes=20))
    assert error_of(put(s3(live.url)))[:2] == ("RequestTimeTooSkewed", 403)
    monkeypatch.undo()
    assert s3(live.url).list_objects_v2(Bucket="auth-e2e")["KeyCount"] == 0
    raw = httpx.get(f"{live.url}/auth-e2e/k")
    assert raw.status_code == 403 and b"<Code>AccessDenied</Code>" in raw.content


def test_boto3_presigned_urls_work_in_httpx_and_curl_until_they_expire(
    live: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = s3(live.url)
    client.create_bucket(Bucket="presigned")
    put_url = client.generate_presigned_url("put_object", Params={"Bucket": "presigned", "Key": "up.bin"})
    assert httpx.put(put_url, content=b"uploaded by link").status_code == 200
    get_url = client.generate_presigned_url("get_object", Params={"Bucket": "presigned", "Key": "up.bin"})
    assert httpx.get(get_url).content == b"uploaded by link"
    fetched = curl("-f", get_url)
    assert fetched.returncode == 0 and fetched.stdout == b"uploaded by link"
    signed_in_the_past(monkeypatch, dt.timedelta(hours=2))
    stale = client.generate_presigned_url(
        "get_object", Params={"Bucket": "presigned", "Key": "up.bin"}, ExpiresIn=3600
    )
    monkeypatch.undo()
    expired = httpx.get(stale)
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content


def test_aws_s3_presign_works_in_curl(live: Server, tmp_path: Path) -> None:
    s3(live.url).create_bucket(Bucket="cli-presign")
    s3(live.url).put_object(Bucket="cli-presign", Key="a.txt", Body=b"from the cli")
    config = tmp_path / "aws-config"
    # The AWS CLI presigns with Signature Version 2 in us-east-1 unless told otherwise: sagelite takes V4.
    config.write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        **DUMMY_CREDENTIALS,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    aws = Path(sys.executable).with_name("aws")
    command = [str(aws), "s3", "presign", "s3://cli-presign/a.txt", "--expires-in", "120"]
    done = subprocess.run(
        [*command, "--endpoint-url", live.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=120" in url
    assert curl("-f", url).stdout == b"from the cli"


# -- REST with curl, and presigned model links --------------------------------------------------------------


def test_curl_signs_rest_calls_with_aws_sigv4(live: Server) -> None:
    sigv4 = ["--aws-sigv4", "aws:amz:us-east-1:sagemaker"]
    ok = curl("-f", *sigv4, "--user", f"{ROOT_KEY}:{ROOT_SECRET}", f"{live.url}/v1/training-jobs")
    assert ok.returncode == 0 and b"TrainingJobSummaries" in ok.stdout
    wrong = curl(
        "-w", "%{http_code}", "-o", os.devnull, *sigv4, "--user", f"{ROOT_KEY}:nope", f"{live.url}/v1/hosts"
    )
    assert wrong.stdout == b"403"
    unsigned = curl("-w", "%{http_code}", "-o", os.devnull, f"{live.url}/v1/hosts")
    assert unsigned.stdout == b"401"


@pytest.fixture(scope="module")
def trained(live: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(3)
    features = rng.normal(size=(300, 4))
    labels = (features[:, 0] > 0).astype(int)
    np.savetxt(root / "train.csv", np.column_stack([labels, features]), delimiter=",", fmt="%.5f")
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{root}"}}
    request = create_request(
        "presigned-model",
        HyperParameters={"epochs": "2"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": channel}],
    )
    client = sagemaker(live.url)
    client.create_training_job(**request)
    assert wait_terminal(client, "presigned-model")["TrainingJobStatus"] == "Completed"
    return "presigned-model"


def test_a_presigned_model_link_from_the_client_works_in_curl_until_it_expires(
    live: Server, trained: str, tmp_path: Path
) -> None:
    with SageMakerClient(
        endpoint_url=live.url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET
    ) as ours:
        url = ours.presign_model_url(trained, expires_in=600)
        expected = httpx.get(f"{live.url}/v1/training-jobs/{trained}/model", auth=None)
        assert expected.status_code == 401
        saved = tmp_path / "model.tar.gz"
        assert curl("-f", "-o", str(saved), url).returncode == 0
        archive = ours.download_training_job_artifact(
            TrainingJobName=trained, destination=tmp_path / "direct"
        )
        assert saved.read_bytes() == archive.read_bytes()
        short = ours.presign_model_url(trained, expires_in=1)
    signed_at = dt.datetime.strptime(httpx.URL(short).params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=dt.UTC
    )
    # Real curl asks the real server: real time must pass (about a second).
    time.sleep(max(0.0, (signed_at + dt.timedelta(seconds=2) - dt.datetime.now(dt.UTC)).total_seconds()))
    late = curl("-w", "%{http_code}", "-o", os.devnull, short)
    assert late.stdout == b"403"


def test_jobs_download_presign_prints_a_link_curl_can_follow(
    live: Server,
    trained: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SAGELITE_ENDPOINT_URL", live.url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)  # loopback: the CLI signs as test / test
    capsys.readouterr()
    assert run(["jobs", "download", trained, "--presign", "--expires-in", "300"]) == 0
    url = capsys.readouterr().out.strip()
    assert "X-Amz-Expires=300" in url and f"/v1/training-jobs/{trained}/model?" in url
    saved = tmp_path / "model.tar.gz"
    assert curl("-f", "-o", str(saved), url).returncode == 0
    assert saved.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    assert run(["jobs", "download", trained, "--presign", "--expires-in", "999999"]) == 2
