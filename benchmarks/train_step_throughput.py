"""Throughput and arithmetic of one story-GAN train step (D step + G step) on this machine.

  python -m benchmarks.train_step_throughput [--config=configs/default.py] [--warmup=2] \\
      [--steps=5] [--matmul_size=2048] [--output=benchmarks/results/train_step_throughput.json]
  python -m benchmarks.train_step_throughput --family=storygan   # a model family's CPU config
  python -m benchmarks.train_step_throughput --backend=both   # TF and JAX side by side

--backend: the Keras backend the step runs under: tensorflow (the default), jax, or both. A
backend other than the process's KERAS_BACKEND, and each of both, is measured in a child
process started with that KERAS_BACKEND (Keras reads it once, at import); with both, the JSON
holds each backend's result and the ratio of their stories/s.

- stories/s: under TensorFlow `StoryGAN.train_step` in a tf.function (as `fit` runs it, XLA
  per config.train.jit_compile); under JAX `JaxStoryGAN.train_step` under jax.jit (as `fit`
  runs it: the state donated, always compiled), on a fixed batch of config.train.batch_size
  random stories at config.data.image_size, with freshly initialised networks (the cost does
  not depend on the weights or the pixels); the median wall time of --steps steps after
  --warmup steps (the first traces and compiles the function).
- FLOPs per step: XLA's HloCostAnalysis of the same train step's HLO before optimisation:
  under TensorFlow lowered by tf.function(jit_compile=True).experimental_get_compiler_ir(...)
  (stage="hlo"), under JAX by jax.jit(...).lower(...); both analysed with the XLA bundled in
  jaxlib (`hlo_module_cost_analysis` on the CPU client). HloCostAnalysis
  counts the body of a while loop once (the bi-LSTM's steps over the words, the Lloyd
  iterations of K-means), which undercounts those small parts; the convolutions and matrix
  products that dominate are counted exactly.
- achieved FLOP/s = FLOPs per step / median step time, divided by the FLOP/s of a large float32
  matmul (--matmul_size squared; tf.function under TensorFlow, jax.jit under JAX) measured in
  the same process: the fraction of this machine's dense-matmul rate the train step reaches.
The JSON records the machine, its load average (the figures move with other load) and the command.

Under JAX the benchmark imports no TensorFlow, so it runs on a JAX-only GPU machine
(benchmarks/gpu_paper_size.sh, docs/JAX.md).
"""
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile

import jax
import keras
import numpy as np
from absl import app, flags
from jax._src.lib import xla_client
from ml_collections import config_flags

from benchmarks.output import write_result
from configs import dynamic_block, storygan, synthetic_cpu
from benchmarks.timing import matmul_flops_per_second, timed
from storyvis_tf.training.story_gan import build_story_gan, parameter_counts, training_features

# The CPU config of each model family (config.model.family), the 30-minute 2-core budget's.
FAMILY_CPU_CONFIGS = {"clustering": synthetic_cpu, "storygan": storygan,
                      "dynamic_block": dynamic_block}
_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Experiment config.")
_FAMILY = flags.DEFINE_enum(
    "family", None, list(FAMILY_CPU_CONFIGS),
    "Measure this model family at its CPU config (configs/synthetic_cpu.py, storygan.py, "
    "dynamic_block.py) instead of --config.")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed train steps first (the first one traces).")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed train steps (median reported).")
_MATMUL_SIZE = flags.DEFINE_integer("matmul_size", 2048, "Side of the reference matmul.")
_BACKEND = flags.DEFINE_enum("backend", "tensorflow", ["tensorflow", "jax", "both"],
                             "Keras backend of the train step (module docstring).")
_OUTPUT = flags.DEFINE_string("output", "benchmarks/results/train_step_throughput.json",
                              "Where the JSON result goes.")
_VOCAB_SIZE = 64


def random_batch(config) -> dict:
    """config.train.batch_size random stories as NumPy arrays: the train step's features."""
    rng = np.random.default_rng(0)
    stories, frames = config.train.batch_size, config.data.frames_per_story
    size, length = config.data.image_size, config.data.max_sentence_length
    return training_features(
        {"images": rng.uniform(-1, 1, (stories, frames, size, size, 3)).astype(np.float32),
         "token_ids": rng.integers(1, _VOCAB_SIZE, (stories, frames, length)).astype(np.int32),
         "labels": np.zeros((stories, frames, 1), np.float32)}, config)


def hlo_cost(hlo: str) -> dict:
    """XLA HloCostAnalysis of the HLO text `hlo` (module docstring)."""
    cost = xla_client._xla.hlo_module_cost_analysis(jax.devices("cpu")[0].client,
                                                    xla_client.hlo.hlo_module_from_text(hlo))
    return {"flops": cost["flops"], "transcendentals": cost["transcendentals"],
            "while_loops_counted_once": hlo.count(" while("), "hlo_characters": len(hlo)}


def timed_train_step(gan, batch) -> dict:
    """`timed` of the compiled train step under the running backend (module docstring), with
    its XLA cost ("flops"), the reference matmul's FLOP/s ("matmul") and the backend's devices
    ("devices")."""
    if keras.backend.backend() == "jax":
        from storyvis_tf.training.jax_step import training_state

        state = training_state(gan)
        train_step = jax.jit(gan.train_step, donate_argnums=0)

        def step():
            nonlocal state
            logs, state = train_step(state, batch)
            jax.block_until_ready(logs)

        timing = timed(step, _STEPS.value, _WARMUP.value)
        memory = jax.devices()[0].memory_stats()     # None on the CPU
        if memory:
            timing["peak_device_bytes"] = memory.get("peak_bytes_in_use")
        hlo = jax.jit(gan.train_step).lower(state, batch).as_text(dialect="hlo")
        return {**timing, "flops": hlo_cost(hlo),
                "matmul": matmul_flops_per_second(_MATMUL_SIZE.value, 2, 5, "jax",
                                                  matmul_dtype(gan.config)),
                "devices": [str(d) for d in jax.devices()]}
    import tensorflow as tf   # here, not at the top: the JAX branch runs without TensorFlow

    batch = {k: tf.constant(v) for k, v in batch.items()}
    train_step = tf.function(gan.train_step, jit_compile=gan.config.train.jit_compile)
    timing = timed(lambda: {k: v.numpy() for k, v in train_step(batch).items()}, _STEPS.value,
                   _WARMUP.value)
    hlo = tf.function(gan.train_step, jit_compile=True).experimental_get_compiler_ir(batch)(
        stage="hlo")
    return {**timing, "flops": hlo_cost(hlo),
            "matmul": matmul_flops_per_second(_MATMUL_SIZE.value, 2, 5),
            "devices": [d.name for d in tf.config.list_logical_devices()]}


def installed_version(distribution: str) -> str | None:
    """The installed version of `distribution`; None where it is not installed (TensorFlow on
    a JAX-only GPU machine)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def matmul_dtype(config) -> str:
    """The reference matmul's dtype: the step's compute dtype (JAX; TF's stays float32)."""
    return "bfloat16" if config.train.mixed_precision == "mixed_bfloat16" else "float32"


def side_by_side(backends: list[str]) -> dict:
    """Runs this benchmark once per backend, each in a child process with that KERAS_BACKEND
    and otherwise the same flags; returns {backend: its result}."""
    results = {}
    flags_given = [a for a in sys.argv[1:] if not a.startswith(("--backend", "--output"))]
    with tempfile.TemporaryDirectory() as directory:
        for backend in backends:
            output = os.path.join(directory, f"{backend}.json")
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.train_step_throughput", *flags_given,
                 f"--backend={backend}", f"--output={output}"],
                env={**os.environ, "KERAS_BACKEND": backend}, check=False)
            if done.returncode:
                raise SystemExit(f"the {backend} run failed (exit status {done.returncode})")
            with open(output, encoding="utf-8") as f:
                results[backend] = json.load(f)
    return results


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if _BACKEND.value != keras.backend.backend():
        backends = ["tensorflow", "jax"] if _BACKEND.value == "both" else [_BACKEND.value]
        results = side_by_side(backends)
        result = results[_BACKEND.value] if len(backends) == 1 else {
            "command": " ".join(["python -m benchmarks.train_step_throughput", *sys.argv[1:]]),
            "backends": results,
            "jax_over_tensorflow_stories_per_second": (
                results["jax"]["train_step"]["stories_per_second"]
                / results["tensorflow"]["train_step"]["stories_per_second"])}
        write_result(_OUTPUT.value, result)
        print(json.dumps({backend: {"stories_per_second": r["train_step"]["stories_per_second"],
                                    "achieved_over_matmul": r["achieved_over_matmul"]}
                          for backend, r in results.items()}, indent=2))
        print(f"wrote {_OUTPUT.value}")
        return
    config = (_CONFIG.value if _FAMILY.value is None
              else FAMILY_CPU_CONFIGS[_FAMILY.value].get_config())
    batch = random_batch(config)
    gan = build_story_gan(config, _VOCAB_SIZE, config.data.max_sentence_length, num_labels=1)
    step = timed_train_step(gan, batch)
    cost, matmul, devices = step.pop("flops"), step.pop("matmul"), step.pop("devices")
    stories = config.train.batch_size
    step["stories_per_second"] = stories / step["median_s"]
    achieved = cost["flops"] / step["median_s"]
    result = {
        "command": " ".join(["python -m benchmarks.train_step_throughput", *sys.argv[1:]]),
        "machine": {"cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "tensorflow": installed_version("tensorflow"), "jax": jax.__version__,
                    "keras_backend": keras.backend.backend(), "devices": devices,
                    "load_average_1_5_15min_at_end": os.getloadavg()},
        "setup": {"family": config.model.family,
                  "parameters": {k: int(v) for k, v in parameter_counts(gan).items()},
                  "image_size": config.data.image_size, "stories_per_step": stories,
                  "frames_per_story": config.data.frames_per_story,
                  "max_sentence_length": config.data.max_sentence_length,
                  "generator_base_channels": config.generator.base_channels,
                  "discriminator_base_channels": config.discriminator.base_channels,
                  "attention": config.generator.attention,
                  "mixed_precision": config.train.mixed_precision,
                  "jit_compile": (True if keras.backend.backend() == "jax"
                                  else config.train.jit_compile),
                  "warmup_steps": _WARMUP.value, "timed_steps": _STEPS.value},
        "train_step": step,
        "flops_per_step": {**cost, "method": "XLA HloCostAnalysis (jaxlib CPU client) of "
                           "the step's HLO before optimisation (TF: tf.function(jit_compile="
                           "True).experimental_get_compiler_ir(batch)(stage='hlo'); JAX: "
                           "jax.jit(train_step).lower(state, batch)); while-loop bodies "
                           "counted once"},
        "achieved_flops_per_second": achieved,
        "reference_matmul": {"size": _MATMUL_SIZE.value,
                             "dtype": (matmul_dtype(config) if keras.backend.backend() == "jax"
                                       else "float32"),
                             "framework": keras.backend.backend(),
                             "flops_per_second": matmul},
        "achieved_over_matmul": achieved / matmul,
    }
    write_result(_OUTPUT.value, result)
    print(json.dumps({"stories_per_second": step["stories_per_second"],
                      "median_step_seconds": step["median_s"],
                      "gflops_per_step": cost["flops"] / 1e9,
                      "achieved_gflops_per_second": achieved / 1e9,
                      "matmul_gflops_per_second": matmul / 1e9,
                      "achieved_over_matmul": achieved / matmul}, indent=2))
    print(f"wrote {_OUTPUT.value}")


if __name__ == "__main__":
    app.run(main)
