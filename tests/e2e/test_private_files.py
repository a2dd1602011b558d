"""At rest, the server's data dir holds no plaintext of what users uploaded and nothing anyone but the
server's user can read: every file 0600, every folder 0700, after real uploads and a real job."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import s3_client, wait_terminal
from tests.support.polling import wait_until
from tests.support.server import running_server

pytestmark = pytest.mark.e2e

MARKER = b"sagelite-canary-4b9e0f27d1a34c58"


def test_uploads_and_a_job_leave_only_private_ciphertext(tmp_path: Path) -> None:
    csv = tmp_path / "train.csv"
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 4))
    np.savetxt(csv, np.column_stack([(x[:, 0] > 0).astype(float), x]), delimiter=",", fmt="%.5f")
    notes = tmp_path / "notes.txt"
    notes.write_bytes(MARKER + os.urandom(9 << 20) + MARKER)  # over boto3's threshold: a multipart upload
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path / "data", env=env) as server:
        s3 = s3_client(server.url)
        s3.create_bucket(Bucket="private")
        s3.upload_file(str(csv), "private", "train/train.csv")
        s3.upload_file(str(notes), "private", "notes/notes.txt")
        s3.put_object(Bucket="private", Key="notes/small.txt", Body=MARKER)
        s3.copy_object(
            Bucket="private", Key="notes/copy.txt", CopySource={"Bucket": "private", "Key": "notes/small.txt"}
        )
        assert s3.get_object(Bucket="private", Key="notes/copy.txt")["Body"].read() == MARKER
        client = sagemaker_client(server.url)
        channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://private/train/"}}
        client.create_training_job(
            **create_request(
                "private-files",
                HyperParameters={"epochs": "2"},
                InputDataConfig=[{"ChannelName": "train", "DataSource": channel, "ContentType": "text/csv"}],
                OutputDataConfig={"S3OutputPath": "s3://private/out"},
            )
        )
        job = wait_terminal(client, "private-files", timeout=120)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        data_dir = server.data_dir
        # The run's VM folders are removed just after the job ends: walk once they are gone.
        wait_until(
            lambda: list((data_dir / "vms").glob("vm-*")), until=lambda left: not left, what="VM cleanup"
        )
        everything = [data_dir, *data_dir.rglob("*")]
        assert {p.name for p in everything} >= {"objects", "blobs", "catalog.sqlite3", "master.key"}
        exposed = [(str(p.relative_to(data_dir)), oct(p.lstat().st_mode)) for p in everything if _exposed(p)]
        assert exposed == []
        files = [p for p in everything if p.is_file()]
        assert [str(p) for p in files if MARKER in p.read_bytes()] == []


def _exposed(path: Path) -> bool:
    mode = path.lstat().st_mode
    return not stat.S_ISLNK(mode) and mode & 0o077 != 0
