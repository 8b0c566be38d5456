"""Runs a pipeline CLI (`python -m pipelines.<stage>`) as a user would: a fresh process started in
the repository root, its output captured as text."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_pipeline(stage: str, *flags: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", f"pipelines.{stage}", *flags], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)
