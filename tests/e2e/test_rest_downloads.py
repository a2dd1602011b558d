"""REST uploads and downloads against the real server: constant memory for large objects, and curl."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.polling import wait_until
from tests.support.server import ROOT_AUTH, ROOT_KEY, ROOT_SECRET, Server, running_server

CURL_SIGV4 = ["--aws-sigv4", "aws:amz:us-east-1:sagemaker", "--user", f"{ROOT_KEY}:{ROOT_SECRET}"]


def declared(sha256: str) -> dict[str, str]:
    """A streamed body's SHA-256, declared (and signed) ahead: the server checks the bytes against it."""
    return {"X-Amz-Content-SHA256": sha256}


pytestmark = pytest.mark.e2e

MIB = 1 << 20
BIG = 192 * MIB
# Peak RSS the server may gain while it receives and sends BIG bytes: buffers, not the object.
MAX_GROWTH = 64 * MIB


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def big_body(block: bytes) -> Iterator[bytes]:
    for i in range(BIG // len(block)):
        yield i.to_bytes(8, "big") + block[8:]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_large_object_round_trip_in_constant_memory(server: Server) -> None:
    url = f"{server.url}/v1/objects/big/model.bin"
    block = os.urandom(MIB)
    expected = hashlib.sha256()
    for chunk in big_body(block):
        expected.update(chunk)
    before = peak_rss(server.process.pid)
    with httpx.Client(timeout=60, auth=ROOT_AUTH) as client:
        put = client.put(url, content=big_body(block), headers=declared(expected.hexdigest()))
        assert put.status_code == 201, put.text
        assert put.json()["sha256"] == expected.hexdigest()
        received = hashlib.sha256()
        with client.stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(BIG)
            assert response.headers["x-checksum-sha256"] == expected.hexdigest()
            for chunk in response.iter_raw():
                received.update(chunk)
    assert received.hexdigest() == expected.hexdigest()
    growth = peak_rss(server.process.pid) - before
    assert growth < MAX_GROWTH, (
        f"server peak RSS grew by {growth / MIB:.0f} MiB for a {BIG // MIB} MiB object"
    )


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_upload_download_and_resume(server: Server, tmp_path: Path) -> None:
    data = os.urandom(5 * MIB + 11)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    url = f"{server.url}/v1/objects/curl-bucket/runs/1/weights.bin"
    curl = ["curl", "-fsS", "--max-time", "30", *CURL_SIGV4]
    # curl signs an upload's declared SHA-256 (it does not hash a file it streams).
    upload = ["-H", f"x-amz-content-sha256: {hashlib.sha256(data).hexdigest()}", "-T", str(source)]
    subprocess.run([*curl, *upload, url], check=True, capture_output=True)

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    subprocess.run([*curl, "-OJ", "--output-dir", str(downloads), url], check=True, capture_output=True)
    assert (downloads / "weights.bin").read_bytes() == data  # named by Content-Disposition

    partial = tmp_path / "partial.bin"
    partial.write_bytes(data[: 2 * MIB + 5])
    subprocess.run([*curl, "-C", "-", "-o", str(partial), url], check=True, capture_output=True)
    assert partial.read_bytes() == data
    sha256 = hashlib.sha256(data).hexdigest()
    headers = subprocess.run([*curl, "-I", url], check=True, capture_output=True, text=True).stdout.lower()
    assert f"x-checksum-sha256: {sha256}" in headers


def temp_files(data: Path) -> list[Path]:
    """Files the server's object store is writing (or a killed one left behind)."""
    return [p for p in (data / "objects" / "tmp").rglob("*") if p.is_file()]


def test_a_server_killed_mid_upload_leaves_no_object(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sent = threading.Event()

    def body() -> Iterator[bytes]:
        yield b"x" * (1 << 20)
        sent.set()
        for _ in range(600):  # the server dies long before this ends
            time.sleep(0.05)
            yield b"y" * 1024

    whole = hashlib.sha256(b"x" * (1 << 20) + b"y" * 1024 * 600).hexdigest()
    with running_server(data) as first:
        assert (
            httpx.put(f"{first.url}/v1/objects/uploads/whole", content=b"ok", auth=ROOT_AUTH).status_code
            == 201
        )
        errors: list[Exception] = []

        def upload() -> None:
            try:
                httpx.put(
                    f"{first.url}/v1/objects/uploads/torn",
                    content=body(),
                    timeout=30,
                    auth=ROOT_AUTH,
                    headers=declared(whole),
                )
            except httpx.HTTPError as error:
                errors.append(error)

        uploader = threading.Thread(target=upload)
        uploader.start()
        assert sent.wait(10)
        torn = wait_until(lambda: temp_files(data), what="the server to start writing the upload")
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        uploader.join(timeout=40)
        assert errors, "the upload should have broken with the server"
    with running_server(data) as second:
        assert httpx.get(f"{second.url}/v1/objects/uploads/torn", auth=ROOT_AUTH).status_code == 404
        assert httpx.get(f"{second.url}/v1/objects/uploads/whole", auth=ROOT_AUTH).content == b"ok"
        assert not any(path.exists() for path in torn), "the torn upload's temp file outlived a restart"
        assert temp_files(data) == []
