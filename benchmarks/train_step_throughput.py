"""Throughput and arithmetic of one story-GAN train step (D step + G step) on this machine.

  python -m benchmarks.train_step_throughput [--config=configs/default.py] [--warmup=2] \\
      [--steps=5] [--matmul_size=2048] [--output=benchmarks/results/train_step_throughput.json]
  python -m benchmarks.train_step_throughput --family=storygan   # a model family's CPU config

- stories/s: `StoryGAN.train_step` in a tf.function (as `fit` runs it, XLA per
  config.train.jit_compile) on a fixed batch of config.train.batch_size random stories at
  config.data.image_size, with freshly initialised networks (the cost does not depend on the
  weights or the pixels); the median wall time of --steps steps after --warmup steps (the first
  traces the function).
- FLOPs per step: XLA's HloCostAnalysis of the same train step, lowered to HLO by
  tf.function(jit_compile=True).experimental_get_compiler_ir(...)(stage="hlo") and analysed
  with the XLA bundled in jaxlib (`hlo_module_cost_analysis` on the CPU client). HloCostAnalysis
  counts the body of a while loop once (the bi-LSTM's steps over the words, the Lloyd
  iterations of K-means), which undercounts those small parts; the convolutions and matrix
  products that dominate are counted exactly.
- achieved FLOP/s = FLOPs per step / median step time, divided by the FLOP/s of a large float32
  matmul (--matmul_size squared, tf.function) measured in the same run: the fraction of this
  machine's dense-matmul rate the train step reaches.
The JSON records the machine, its load average (the figures move with other load) and the command.
"""
import json
import os
import platform
import sys

import jax
import numpy as np
import tensorflow as tf
from absl import app, flags
from jax._src.lib import xla_client
from ml_collections import config_flags

from benchmarks.output import write_result
from configs import dynamic_block, storygan, synthetic_cpu
from benchmarks.timing import matmul_flops_per_second, timed
from storyvis_tf.training.story_gan import build_story_gan, parameter_counts
from storyvis_tf.training.trainer import training_features

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
_OUTPUT = flags.DEFINE_string("output", "benchmarks/results/train_step_throughput.json",
                              "Where the JSON result goes.")
_VOCAB_SIZE = 64


def random_batch(config) -> dict:
    rng = np.random.default_rng(0)
    stories, frames = config.train.batch_size, config.data.frames_per_story
    size, length = config.data.image_size, config.data.max_sentence_length
    return training_features(
        {"images": tf.constant(rng.uniform(-1, 1, (stories, frames, size, size, 3)),
                               tf.float32),
         "token_ids": tf.constant(rng.integers(1, _VOCAB_SIZE, (stories, frames, length)),
                                  tf.int32),
         "labels": tf.zeros((stories, frames, 1))}, config)


def xla_flops(function, *args) -> dict:
    """XLA HloCostAnalysis of `function(*args)` (module docstring)."""
    hlo = tf.function(function, jit_compile=True).experimental_get_compiler_ir(*args)(stage="hlo")
    cost = xla_client._xla.hlo_module_cost_analysis(jax.devices("cpu")[0].client,
                                                    xla_client.hlo.hlo_module_from_text(hlo))
    return {"flops": cost["flops"], "transcendentals": cost["transcendentals"],
            "while_loops_counted_once": hlo.count(" while("), "hlo_characters": len(hlo)}


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = (_CONFIG.value if _FAMILY.value is None
              else FAMILY_CPU_CONFIGS[_FAMILY.value].get_config())
    batch = random_batch(config)
    gan = build_story_gan(config, _VOCAB_SIZE, config.data.max_sentence_length, num_labels=1)
    train_step = tf.function(gan.train_step, jit_compile=config.train.jit_compile)
    step = timed(lambda: {k: v.numpy() for k, v in train_step(batch).items()}, _STEPS.value,
                 _WARMUP.value)
    stories = config.train.batch_size
    step["stories_per_second"] = stories / step["median_s"]
    cost = xla_flops(gan.train_step, batch)
    achieved = cost["flops"] / step["median_s"]
    matmul = matmul_flops_per_second(_MATMUL_SIZE.value, 2, 5)
    result = {
        "command": " ".join(["python -m benchmarks.train_step_throughput", *sys.argv[1:]]),
        "machine": {"cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "tensorflow": tf.__version__, "jax": jax.__version__,
                    "devices": [d.name for d in tf.config.list_logical_devices()],
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
                  "jit_compile": config.train.jit_compile,
                  "warmup_steps": _WARMUP.value, "timed_steps": _STEPS.value},
        "train_step": step,
        "flops_per_step": {**cost, "method": "XLA HloCostAnalysis (jaxlib CPU client) of "
                           "tf.function(train_step, jit_compile=True).experimental_get_compiler_"
                           "ir(batch)(stage='hlo'); while-loop bodies counted once"},
        "achieved_flops_per_second": achieved,
        "reference_matmul": {"size": _MATMUL_SIZE.value, "dtype": "float32",
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
