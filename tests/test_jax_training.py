"""Training under KERAS_BACKEND=jax (storyvis_tf/training/jax_step.py): the JAX step gives the
TensorFlow step's update, two devices give one device's update, an interrupted fit resumes
exactly, and `pipelines.train` under JAX writes a run that the TensorFlow export reads.

KERAS_BACKEND is read once, when keras is imported (tests/conftest.py sets tensorflow), so the
JAX side of each test runs in a subprocess (`jax_worker`); XLA's CPU device count, too, is
fixed before jax is imported. Compiling the whole step takes most of each JAX run.
"""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from configs import smoke
from storyvis_tf.data.preprocess import run_preprocess
from tests.interruption import InterruptAtSecondEpoch
from tests.pipeline_cli import run_pipeline
from tests.tiny_gan import LENGTH, VOCAB, random_batch, tiny_config

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One SGD step from the same weights, batch and noise, TF vs JAX: different float32 kernels
# (oneDNN convolutions, XLA's fusions) and the R1 penalty's second derivative, in another order.
STEP_RTOL, STEP_ATOL = 1e-4, 2e-5
# Four SGD steps (two re-clusterings), one device vs DataParallel over two: float32 sums split
# over devices and then added.
DEVICES_RTOL, DEVICES_ATOL = 1e-5, 1e-5
LEARNING_RATE = 0.05


def equivalence_config():
    """The tiny config with every term on, the R1 penalty too, so both derivative paths of
    the discriminator's spectral norm (first and second order) are compared."""
    config = tiny_config(batch_size=2)
    config.losses.r1_gamma = 0.5
    return config


def build_with_sgd(config, distribution=None):
    """The StoryGAN with plain SGD on both sides: Adam would normalise away a wrong gradient
    scale, which these tests must see."""
    from storyvis_tf.training.story_gan import build_story_gan

    keras.utils.set_random_seed(0)
    gan = build_story_gan(config, VOCAB, LENGTH)
    gan.compile(d_optimizer=keras.optimizers.SGD(LEARNING_RATE),
                g_optimizer=keras.optimizers.SGD(LEARNING_RATE))
    gan.d_optimizer.build(gan.discriminator_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    return gan


def model_state(gan) -> list:
    """Every weight of the model (networks, clustering state, weight average) and of both
    optimisers, in order."""
    return [np.array(keras.ops.convert_to_numpy(v.value)) for v in
            gan.weights + gan.d_optimizer.variables + gan.g_optimizer.variables]


def state_paths(gan) -> list:
    return [v.path for v in gan.weights + gan.d_optimizer.variables + gan.g_optimizer.variables]


def batches(arrays, batch_size):
    return tf.data.Dataset.from_tensor_slices(arrays).batch(batch_size, drop_remainder=True)


class _StateAt(keras.callbacks.Callback):
    """The full state (`model_state`) at the end of the first epoch, at the start of fit or
    after the first step of the second epoch."""

    def __init__(self, moment):
        super().__init__()
        self.moment, self.state = moment, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_begin(self, logs=None):
        if self.moment == "train_begin":
            self.state = model_state(self.model)

    def on_train_batch_end(self, batch, logs=None):
        if self.moment == "second_epoch_first_step" and self.epoch == 1 and batch == 0:
            self.state = model_state(self.model)

    def on_epoch_end(self, epoch, logs=None):
        if self.moment == "first_epoch_end" and epoch == 0:
            self.state = model_state(self.model)


def jax_worker(task: str, directory: str) -> None:
    """Runs under KERAS_BACKEND=jax (subprocess); writes directory/<task>.npz.

    "step": loads directory/initial.weights.h5 and takes the step of directory/inputs.npz
    with its noise. "devices": with two XLA CPU devices: a one-device fit of four steps,
    interrupted after the third and resumed into a model whose state was overwritten, then
    a fresh model under DataParallel over both devices from the same initial weights."""
    import jax

    if task == "step":
        gan = build_with_sgd(equivalence_config())
        gan.load_weights(os.path.join(directory, "initial.weights.h5"))
        inputs = dict(np.load(os.path.join(directory, "inputs.npz")))
        noise = (inputs.pop("noise"), inputs.pop("condition_noise"))
        gan.story_noise = lambda step, stories: noise
        history = gan.fit(batches(inputs, len(noise[0])), verbose=0, shuffle=False)
        np.savez(os.path.join(directory, "step.npz"), *model_state(gan),
                 logs=json.dumps({k: v[0] for k, v in history.history.items()}))
        return

    from storyvis_tf.training.jax_distribution import distribute_over_devices

    assert len(jax.devices()) == 2, jax.devices()
    config = tiny_config(batch_size=2)
    data = batches(random_batch(config, 4), 2)
    one = build_with_sgd(config)
    initial = os.path.join(directory, "initial.weights.h5")
    one.save_weights(initial)
    backup = os.path.join(directory, "backup")
    saved, lost = _StateAt("first_epoch_end"), _StateAt("second_epoch_first_step")
    try:
        one.fit(data, epochs=2, verbose=0, shuffle=False, callbacks=[
            keras.callbacks.BackupAndRestore(backup), saved, lost, InterruptAtSecondEpoch()])
    except RuntimeError as error:
        assert "interrupted" in str(error)
    rng = np.random.default_rng(1)   # everything must come back from the backup
    for variable in one.weights + one.d_optimizer.variables + one.g_optimizer.variables:
        variable.assign(rng.normal(size=variable.shape).astype(variable.dtype))
    restored, redone = _StateAt("train_begin"), _StateAt("second_epoch_first_step")
    one.fit(data, epochs=2, verbose=0, shuffle=False, callbacks=[
        keras.callbacks.BackupAndRestore(backup), restored, redone])
    one_final = model_state(one)

    assert distribute_over_devices(config.train.batch_size, log=lambda _: None) == 2
    two = build_with_sgd(config)
    two.load_weights(initial)
    two.fit(data, epochs=2, verbose=0, shuffle=False)
    arrays = {"saved": saved.state, "restored": restored.state, "lost": lost.state,
              "redone": redone.state, "one": one_final, "two": model_state(two)}
    np.savez(os.path.join(directory, "devices.npz"),
             **{f"{name}_{i}": value for name, values in arrays.items()
                for i, value in enumerate(values)},
             count=len(one_final), paths=np.array(state_paths(one)),
             iterations=np.array([int(one.g_optimizer.iterations.numpy()),
                                  int(two.g_optimizer.iterations.numpy())]),
             sharded=np.array(len(two.generator.weights[0].value.sharding.device_set)))


def jax_environment(devices: int = 1) -> dict:
    # XLA's backend optimisation level 0 compiles the step about twice as fast on the CPU.
    return {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
            "XLA_FLAGS": (f"--xla_backend_optimization_level=0 "
                          f"--xla_force_host_platform_device_count={devices}"),
            "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": REPO}


def run_jax(task: str, directory, devices: int = 1) -> None:
    env = jax_environment(devices)
    code = f"from tests.test_jax_training import jax_worker; jax_worker({task!r}, {str(directory)!r})"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"JAX worker {task} failed:\n{done.stderr[-4000:]}"


def test_jax_step_gives_the_tensorflow_update(tmp_path):
    config = equivalence_config()
    gan = build_with_sgd(config)
    rng = np.random.default_rng(1)
    # Centroids in place, so the clustering term acts in this one step on both sides.
    gan.clustering.centroids.assign(rng.normal(size=gan.clustering.centroids.shape))
    gan.clustering.ready.assign(1.0)
    gan.save_weights(str(tmp_path / "initial.weights.h5"))
    batch = random_batch(config, 2)
    noise = [rng.normal(size=(2, dim)).astype("float32")
             for dim in (config.generator.noise_dim, config.generator.condition_dim)]
    np.savez(tmp_path / "inputs.npz", noise=noise[0], condition_noise=noise[1], **batch)
    initial = model_state(gan)

    gan._story_normal = lambda stories, dim, stream: tf.constant(noise[stream])
    history = gan.fit(batches(batch, 2), verbose=0, shuffle=False)
    run_jax("step", tmp_path)

    result = np.load(tmp_path / "step.npz")
    logs = json.loads(str(result["logs"]))
    assert set(logs) == set(history.history)
    for name, value in logs.items():
        np.testing.assert_allclose(value, history.history[name][0], rtol=STEP_RTOL,
                                   atol=STEP_ATOL, err_msg=name)
    assert logs["d_cluster"] > 0 and logs["d_r1"] > 0
    tensorflow_state = model_state(gan)
    for i, (path, value) in enumerate(zip(state_paths(gan), tensorflow_state)):
        np.testing.assert_allclose(result[f"arr_{i}"], value, rtol=STEP_RTOL, atol=STEP_ATOL,
                                   err_msg=path)
    moved = max(np.abs(value - start).max() for value, start in zip(tensorflow_state, initial))
    assert moved > 100 * STEP_ATOL


def test_two_jax_devices_give_one_devices_update_and_a_fit_resumes_exactly(tmp_path):
    run_jax("devices", tmp_path, devices=2)
    result = np.load(tmp_path / "devices.npz")
    paths = [str(p) for p in result["paths"]]

    def state(name):
        return [result[f"{name}_{i}"] for i in range(int(result["count"]))]

    for (path, value), restored in zip(zip(paths, state("saved")), state("restored")):
        np.testing.assert_array_equal(restored, value, err_msg=path)
    # The redone step is the lost one bit for bit: its noise comes from (seed, step).
    for (path, value), redone in zip(zip(paths, state("lost")), state("redone")):
        np.testing.assert_array_equal(redone, value, err_msg=path)
    assert list(result["iterations"]) == [4, 4]
    assert int(result["sharded"]) == 2
    for (path, value), two in zip(zip(paths, state("one")), state("two")):
        np.testing.assert_allclose(two, value, rtol=DEVICES_RTOL, atol=DEVICES_ATOL,
                                   err_msg=path)


def test_a_jax_training_run_is_exported_by_tensorflow(tmp_path):
    data_dir = str(tmp_path / "data")
    run_preprocess("synthetic", "", data_dir, 32, ["--direct_num_workers=1"],
                   config=smoke.get_config())
    run, export = tmp_path / "run", tmp_path / "export"
    trained = subprocess.run(
        [sys.executable, "-m", "pipelines.train", "--config=configs/smoke.py",
         f"--data_dir={data_dir}", f"--output_dir={run}"],
        cwd=REPO, env=jax_environment(), capture_output=True, text=True, timeout=900)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "training on 1 JAX device(s) (cpu)" in trained.stdout

    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["keras_backend"] == "jax"
    assert (manifest["epoch"], manifest["step"]) == (1, 4)      # 8 stories, batches of 2
    (record,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert np.isfinite(record["g_total"]) and record["d_cluster"] > 0
    assert (run / "samples" / "epoch_0001.png").exists()
    assert (run / "checkpoints" / "latest.weights.h5").exists()

    exported = run_pipeline("export", f"--run_dir={run}", f"--export_dir={export}")
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert f"exported {export / '1'} (training step 4" in exported.stdout
