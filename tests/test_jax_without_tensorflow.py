"""The JAX training path runs where TensorFlow is not installed (the GPU machine of
docs/JAX.md): under KERAS_BACKEND=jax, with `import tensorflow` failing, the GAN builds, `fit`
trains it, and `benchmarks.train_step_throughput --backend=jax` measures its step.

Each case runs in a subprocess whose `sitecustomize.py` (`no_tensorflow_path`) puts a finder
first on sys.meta_path that refuses tensorflow and every tensorflow.* module, as a machine
without the wheel does. This module imports no TensorFlow, so that the worker can run there.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCKER = '''\
import importlib.abc
import sys


class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, NoTensorFlow())
'''


def fit_worker(report: str) -> None:
    """Builds the tiny GAN (every loss term on), fits it one step on NumPy arrays and writes
    its parameter counts and logs to `report` (JSON)."""
    import keras

    from storyvis_tf.training.story_gan import build_story_gan, parameter_counts
    from tests.tiny_gan import LENGTH, VOCAB, random_batch, tiny_config

    config = tiny_config()
    keras.utils.set_random_seed(0)
    gan = build_story_gan(config, VOCAB, LENGTH)
    history = gan.fit(random_batch(config, config.train.batch_size),
                      batch_size=config.train.batch_size, verbose=0, shuffle=False)
    with open(report, "w", encoding="utf-8") as f:
        json.dump({"parameters": parameter_counts(gan),
                   "logs": {k: float(v[0]) for k, v in history.history.items()},
                   "step": int(gan.g_optimizer.iterations.numpy()),
                   "tensorflow_loaded": "tensorflow" in sys.modules}, f)


@pytest.fixture
def no_tensorflow_env(tmp_path) -> dict:
    """The environment of a JAX subprocess in which `import tensorflow` fails."""
    from tests.test_jax_training import jax_environment

    blocker = tmp_path / "no_tensorflow"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    return {**jax_environment(), "PYTHONPATH": os.pathsep.join([str(blocker), REPO])}


def run_blocked(args: list[str], env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def test_the_blocker_refuses_tensorflow(no_tensorflow_env):
    done = subprocess.run([sys.executable, "-c", "import tensorflow"], cwd=REPO,
                          env=no_tensorflow_env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "No module named 'tensorflow' (blocked)" in done.stderr


def test_the_gan_builds_and_fits_under_jax_without_tensorflow(no_tensorflow_env, tmp_path):
    report = tmp_path / "report.json"
    run_blocked(["-c", "from tests.test_jax_without_tensorflow import fit_worker; "
                       f"fit_worker({str(report)!r})"], no_tensorflow_env)
    result = json.loads(report.read_text())
    assert not result["tensorflow_loaded"]
    assert result["step"] == 1
    assert all(count > 0 for count in result["parameters"].values())
    assert {"d_total", "g_total"} <= set(result["logs"])
    assert all(np.isfinite(value) for value in result["logs"].values())


def test_the_jax_train_step_benchmark_runs_without_tensorflow(no_tensorflow_env, tmp_path):
    output = tmp_path / "throughput.json"
    run_blocked(["-m", "benchmarks.train_step_throughput", "--backend=jax",
                 "--config=configs/smoke.py", "--warmup=1", "--steps=1", "--matmul_size=64",
                 f"--output={output}"], no_tensorflow_env)
    result = json.loads(output.read_text())
    assert result["machine"]["keras_backend"] == "jax"
    assert result["train_step"]["stories_per_second"] > 0
    assert result["flops_per_step"]["flops"] > 0
    assert result["reference_matmul"]["framework"] == "jax"
