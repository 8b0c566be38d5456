"""Throughput of the exported generator against the Keras networks it wraps, and of the evaluator.

  python -m benchmarks.generation_throughput [--config=configs/default.py] [--repeats=5] \\
      [--eval_stories=64] [--output=benchmarks/results/generation_throughput.json]

Everything runs on the embedded synthetic dataset, preprocessed into a temporary directory, with
freshly initialised networks of --config (throughput does not depend on the weights):
(a) stories/s at batch 1 and 32 of the SavedModel's serving signature (sentences -> tokenise ->
    text encoder -> generator -> uint8 frames + PNG bytes), loaded with tf.saved_model.load, next
    to the text encoder + generator called directly (`run_dir.generate_images` on token ids and
    noise) in a tf.function and eagerly; serving_over_keras = SavedModel / tf.function rate, so
    1 - serving_over_keras is the serving overhead (tokenisation, seeding, PNG encoding).
    Rates per wall second and per process-CPU second (all threads) are both kept: on a shared
    machine the CPU-time figures move less.
(b) frames/s of `evaluate` on --eval_stories test stories: cold (training the domain networks
    and computing the reference statistics, cached in the temporary DATA/eval_cache) and warm
    (both cached).
Figures are medians over --repeats calls after one warm-up call; the JSON records the machine,
its load average and the command.
"""
import json
import os
import platform
import statistics
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags
from ml_collections import config_flags

from benchmarks.output import write_result
from benchmarks.timing import timed
from storyvis_tf.data.loader import load_dataset, load_vocabulary, read_manifest
from storyvis_tf.data.preprocess import run_preprocess
from storyvis_tf.evaluation.evaluator import evaluate
from storyvis_tf.export.savedmodel import SIGNATURE_KEY, export_generator
from storyvis_tf.training import run_dir

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Experiment config.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1", "32"], "Stories per generation call.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls per measurement (median reported).")
_EVAL_STORIES = flags.DEFINE_integer("eval_stories", 64, "Test stories the evaluator scores.")
_TRAIN_STORIES = flags.DEFINE_integer("train_stories", 64, "Training stories (the evaluator's "
                                      "domain networks learn from them).")
_OUTPUT = flags.DEFINE_string("output", "benchmarks/results/generation_throughput.json",
                              "Where the JSON result goes.")


def _median_rate(call, count: int, repeats: int, unit: str, warm_up: bool = True) -> dict:
    """`count` items per call: items/s from the median wall time of `repeats` calls, and per
    second of process CPU time."""
    timing = timed(call, repeats, warmup=int(warm_up))
    return {f"{unit}_per_s": count / timing["median_s"],
            f"{unit}_per_cpu_s": count / timing["median_process_cpu_s"], **timing}


def _generation(model, text_encoder, generator, test: dict, batch_size: int, noise_dim: int,
                repeats: int) -> dict:
    rows = np.arange(batch_size) % len(test["sentences"])
    sentences = tf.constant(test["sentences"][rows])
    token_ids = tf.constant(test["token_ids"][rows])
    seeds = tf.range(batch_size, dtype=tf.int64)
    noise = tf.random.stateless_normal([batch_size, noise_dim], seed=[0, 0])
    serve = model.signatures[SIGNATURE_KEY]
    graph = tf.function(lambda ids, z: run_dir.generate_images(text_encoder, generator, ids, z))
    rates = {
        "savedmodel_signature": _median_rate(
            lambda: serve(sentences=sentences, seed=seeds)["images_bytes"].numpy(), batch_size,
            repeats, "stories"),
        "keras_tf_function": _median_rate(lambda: graph(token_ids, noise).numpy(), batch_size,
                                          repeats, "stories"),
        "keras_eager": _median_rate(
            lambda: keras.ops.convert_to_numpy(
                run_dir.generate_images(text_encoder, generator, token_ids, noise)),
            batch_size, repeats, "stories"),
    }
    for suffix in ("s", "cpu_s"):
        rates[f"serving_over_keras_per_{suffix}"] = (
            rates["savedmodel_signature"][f"stories_per_{suffix}"]
            / rates["keras_tf_function"][f"stories_per_{suffix}"])
    return rates


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = _CONFIG.value
    config.data.synthetic_train = _TRAIN_STORIES.value
    config.data.synthetic_val = 1
    config.data.synthetic_test = _EVAL_STORIES.value
    with tempfile.TemporaryDirectory() as workdir:
        data_dir, run = os.path.join(workdir, "data"), os.path.join(workdir, "run")
        run_preprocess("synthetic", "", data_dir, config.data.image_size, config=config)
        vocabulary = load_vocabulary(data_dir)
        length = read_manifest(data_dir)["max_sentence_length"]
        text_encoder, generator = run_dir.build_generation_models(config, len(vocabulary), length)
        run_dir.save_generation_artifacts(run, config, vocabulary, text_encoder, generator,
                                          {"max_sentence_length": length})
        model_dir = export_generator(run, os.path.join(workdir, "export"))
        model = tf.saved_model.load(model_dir)
        test = next(load_dataset(data_dir, "test", _EVAL_STORIES.value).as_numpy_iterator())
        generation = {f"batch_{size}": _generation(model, text_encoder, generator, test, size,
                                                   config.generator.noise_dim, _REPEATS.value)
                      for size in map(int, _BATCH_SIZES.value)}

        frames = _EVAL_STORIES.value * config.data.frames_per_story
        evaluations = []

        def evaluation():
            evaluations.append(evaluate(model_dir, data_dir, "test",
                                        os.path.join(workdir, f"eval{len(evaluations)}"), config,
                                        verbose=False, log=lambda line: None))

        evaluator = {"cold": _median_rate(evaluation, frames, 1, "frames", warm_up=False),
                     "warm": _median_rate(evaluation, frames, _REPEATS.value, "frames",
                                          warm_up=False)}
        evaluator["warm_generation_frames_per_s"] = frames / statistics.median(
            report["timing_s"]["generation"] for report in evaluations[1:])

    result = {
        "command": " ".join(["python -m benchmarks.generation_throughput", *sys.argv[1:]]),
        "machine": {"cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "tensorflow": tf.__version__, "keras": keras.__version__,
                    "gpus": len(tf.config.list_physical_devices("GPU")),
                    "load_average_1_5_15min_at_end": os.getloadavg()},
        "settings": {"image_size": config.data.image_size,
                     "frames_per_story": config.data.frames_per_story,
                     "generator": config.generator.to_dict(),
                     "text_encoder": config.text_encoder.to_dict(),
                     "max_sentence_length": length, "repeats": _REPEATS.value,
                     "eval_stories": _EVAL_STORIES.value, "train_stories": _TRAIN_STORIES.value,
                     "eval": config.eval.to_dict()},
        "generation": generation,
        "evaluator": evaluator,
    }
    write_result(_OUTPUT.value, result)
    print(json.dumps({"generation": generation, "evaluator": evaluator}, indent=2))


if __name__ == "__main__":
    app.run(main)
