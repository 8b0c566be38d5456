"""The work of one unit of a study, run by `runner` in a fresh process each: encoder pretraining
(`pretrain_encoders`) and a (row, seed) trained, exported and evaluated (`train_export_evaluate`).

Both call the library's stage functions (`training.pretrain.run_pretrain`, `training.trainer.
train`, `export.savedmodel.export_generator`, `evaluation.evaluator.evaluate`) and resume where
a previous sitting stopped: a finished stage is recognised by its own output (the pretraining
manifest, the training run's manifest at the last epoch, ROW/export.json, ROW/result.json), and
an interrupted training resumes from the trainer's checkpoints.
`is_pretrained(directory)` tells the runner that a pretraining is finished.

ROW (a `runner` row directory) gets:
  run/             the training run (`pipelines.train` layout)
  training.json    parameters (generator, discriminator, projection heads), median step time
                   (seconds, the sitting's first step left out: tracing), steps timed,
                   wall seconds of the sitting that finished the training
  export/, export.json   the exported generator and its version directory
  comparison.npz   the first `comparison_stories` stories of the split: real frames, sentences,
                   and the export's frames for them with the evaluator's seeds
  eval/            the evaluator's output (metrics.json, samples/)
  result.json      written last: everything the report reads of this (row, seed)
"""
import os
import shutil
import statistics
import time
from collections.abc import Callable

import keras
import ml_collections
import numpy as np

from storyvis_tf.evaluation import evaluator
from storyvis_tf.export.savedmodel import export_generator, load_export
from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.training import pretrained, run_dir
from storyvis_tf.training.pretrain import run_pretrain
from storyvis_tf.training.story_gan import parameter_counts
from storyvis_tf.training.trainer import train

RESULT, TRAINING, EXPORT_RECORD, COMPARISON = ("result.json", "training.json", "export.json",
                                               "comparison.npz")
RUN_DIR, EXPORT_DIR, EVAL_DIR = "run", "export", "eval"
_TRACING_STEPS = 1   # steps of each sitting left out of the step time (tracing)


class TrainingRecord(keras.callbacks.Callback):
    """Parameter counts at the start of training and the duration of every train step."""

    def __init__(self):
        super().__init__()
        self.parameters, self.step_seconds, self._started = None, [], None

    def on_train_begin(self, logs=None):
        self.parameters = parameter_counts(self.model)

    def on_train_batch_begin(self, batch, logs=None):
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.step_seconds.append(time.perf_counter() - self._started)

    def summary(self) -> dict:
        timed = self.step_seconds[_TRACING_STEPS:]
        return {"parameters": self.parameters, "steps_timed": len(timed),
                "step_time_s": statistics.median(timed) if timed else None}


def pretrain_encoders(config: dict, data_dir: str, output_dir: str, log: Callable) -> None:
    """Pretrains the encoders of `config` (a ConfigDict's dict) into `output_dir`, resuming an
    interrupted run."""
    run_pretrain(ml_collections.ConfigDict(config), data_dir, output_dir, verbose=2)
    log(f"encoders pretrained in {output_dir}")


def is_pretrained(directory: str) -> bool:
    return os.path.exists(os.path.join(directory, pretrained.MANIFEST))


def train_export_evaluate(unit: dict, log: Callable) -> dict:
    """Trains, exports and evaluates one (row, seed) in `unit["row_dir"]` and returns (and
    writes as ROW/result.json) its result.

    unit: {"row_dir", "data_dir", "pretrained_dir", "split", "comparison_stories",
    "train_config" and "eval_config" (ConfigDict dicts), "result" (fields copied into the
    result: row name, seed, keys, label uses, ...)}.
    """
    row_dir = unit["row_dir"]
    config = ml_collections.ConfigDict(unit["train_config"])
    config.train.pretrained_dir = unit["pretrained_dir"]
    eval_config = ml_collections.ConfigDict(unit["eval_config"])
    os.makedirs(row_dir, exist_ok=True)
    training = _train(config, unit["data_dir"], row_dir, log)
    model_dir = _export(row_dir, log)
    batch_size = eval_config.eval.batch_size
    model, _ = load_export(model_dir)
    _write_comparison(row_dir, model, unit["data_dir"], unit["split"],
                      unit["comparison_stories"], eval_config.seed, batch_size)
    log("evaluating")
    started = time.perf_counter()
    report = evaluator.evaluate(model_dir, unit["data_dir"], unit["split"],
                                os.path.join(row_dir, EVAL_DIR), eval_config,
                                pretrained_dir=unit["pretrained_dir"], overwrite=True,
                                verbose=False, log=log)
    result = {**unit["result"], **training,
              "eval_wall_s": time.perf_counter() - started,
              **{key: report[key] for key in ("metrics", "real_data_ceiling", "baselines",
                                              "not_computed")}}
    write_json(os.path.join(row_dir, RESULT), result)
    return result


def _train(config: ml_collections.ConfigDict, data_dir: str, row_dir: str, log) -> dict:
    """ROW/training.json, training (or finishing) the run first unless it is complete."""
    record_path, run = os.path.join(row_dir, TRAINING), os.path.join(row_dir, RUN_DIR)
    if os.path.exists(record_path):
        return read_json(record_path)
    manifest = os.path.join(run, run_dir.MANIFEST)
    if os.path.exists(manifest) and read_json(manifest).get("epoch") == config.train.epochs:
        # Finished in a sitting that stopped before writing its record: nothing left to time.
        record = {"parameters": None, "steps_timed": 0, "step_time_s": None, "train_wall_s": None}
    else:
        log(f"training {config.train.epochs * config.train.steps_per_epoch} steps in {run}")
        timing = TrainingRecord()
        started = time.perf_counter()
        train(config, data_dir, run, extra_callbacks=[timing], verbose=2, log=log)
        record = {**timing.summary(), "train_wall_s": time.perf_counter() - started}
    write_json(record_path, record)
    return record


def _export(row_dir: str, log) -> str:
    """The exported model's version directory, exporting the run unless ROW/export.json says
    it is done (a partial export from an interrupted sitting is removed first)."""
    record_path, export_dir = os.path.join(row_dir, EXPORT_RECORD), os.path.join(row_dir,
                                                                                   EXPORT_DIR)
    if os.path.exists(record_path):
        return read_json(record_path)["model_dir"]
    shutil.rmtree(export_dir, ignore_errors=True)
    log("exporting")
    model_dir = export_generator(os.path.join(row_dir, RUN_DIR), export_dir)
    write_json(record_path, {"model_dir": model_dir})
    return model_dir


def _write_comparison(row_dir: str, model, data_dir: str, split: str, count: int, seed: int,
                      batch_size: int) -> None:
    """ROW/comparison.npz: the split's first `count` stories as the evaluator generates them
    (story i with seed `seed` + i)."""
    stories = evaluator.read_stories(data_dir, split, count, batch_size)
    seeds = seed + np.arange(len(stories.story_ids), dtype=np.int64)
    generated = evaluator.generate_stories(model, stories.sentences, seeds, batch_size,
                                           verbose=False)
    sentences = np.array([[sentence.decode("utf-8") for sentence in story]
                          for story in stories.sentences])
    np.savez_compressed(os.path.join(row_dir, COMPARISON), generated=generated,
                        real=stories.frames, sentences=sentences,
                        story_ids=np.array(stories.story_ids), seeds=seeds)
