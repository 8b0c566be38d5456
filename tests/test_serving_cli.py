"""`python -m pipelines.serve` as a user runs it: it serves the newest version of EXPORT on
loopback and picks up a version exported while it runs, without a restart."""
import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.pipeline_cli import REPO
from tests.serving_support import MODEL, STORY, shared_export


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_version(http: httpx.Client, server: subprocess.Popen, version: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1][-3000:]
        try:
            statuses = http.get(f"/v1/models/{MODEL}").json()["model_version_status"]
            if {"version": version, "state": "AVAILABLE"}.items() <= statuses[-1].items():
                return
        except httpx.TransportError:   # not listening yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"version {version} was not served within 120 s")


@pytest.mark.slow
def test_serve_cli_picks_up_a_new_version(tmp_path_factory, tmp_path):
    base = tmp_path / "export"
    shutil.copytree(os.path.join(shared_export(tmp_path_factory), "1"), base / "1")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.serve", f"--export_dir={base}", f"--port={port}",
         "--file_system_poll_wait_seconds=0.2"], cwd=REPO, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            wait_for_version(http, server, "1")
            shutil.copytree(base / "1", tmp_path / "staging")
            os.rename(tmp_path / "staging", base / "2")
            wait_for_version(http, server, "2")
            response = http.post(f"/v1/models/{MODEL}:predict",
                                 json={"instances": [{"sentences": STORY, "seed": 1}]})
            assert response.status_code == 200, response.text
            assert http.get(f"/v1/models/{MODEL}/metadata").json()["model_spec"]["version"] == "2"
            assert "<title>Story visualization</title>" in http.get("/").text
    finally:
        server.terminate()
        stdout, _ = server.communicate(timeout=60)
    assert f"serving {base} as model {MODEL} (versions: 1 AVAILABLE)" in stdout
