"""Runs a study (`python -m pipelines.study`): preprocesses once, pretrains once per encoder
config, then trains, exports and evaluates every (row, seed), reusing whatever a previous
sitting finished, and writes the report.

Layout of the output directory DIR:
  study.json               the plan: the study file, rows, seeds and every key
  data/<key>/              the preprocessed data (`keys.data_key`)
  pretrain/<key>/          pretrained encoders, one per encoder config (`keys.pretrain_key`)
  eval_cache/              the evaluator's reference statistics and domain networks, shared
  rows/<key>/              one (row, seed) (`keys.row_key`, layout in `stages`)
  results.md, results.csv, comparison.png, metrics.png   (`report`, `plots`)

Pretraining and every (row, seed) run in a fresh process each (`multiprocessing` spawn): Keras
keeps global state between models (layer names, random seeds, dtype policies), and a long
study must not hold the memory of its earlier rows. An error in a unit stops the study with
the unit named; rerunning the command resumes it.
"""
import concurrent.futures
import ctypes
import ctypes.util
import dataclasses
import multiprocessing
import os
import signal
import time
from collections.abc import Callable

from storyvis_tf.data.preprocess import run_preprocess
from storyvis_tf.data.schema import MANIFEST_FILE
from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.label_use import ground_truth_label_uses
from storyvis_tf.study import keys, plots, report, stages
from storyvis_tf.study.spec import Study, at_shared_seed, row_config

_PR_SET_PDEATHSIG = 1   # linux/prctl.h
DATA_DIR, PRETRAIN_DIR, ROWS_DIR, EVAL_CACHE, PLAN = ("data", "pretrain", "rows", "eval_cache",
                                                       "study.json")
_KEY_CHARS = 16   # of a key's hex digits in directory names


class StudyRunError(RuntimeError):
    """A unit of the study failed; the message names it and the directory it was writing."""


@dataclasses.dataclass(frozen=True)
class ProgressLog:
    """Prints `[elapsed since the study started] prefix: message`, flushed (picklable, so the
    units' processes print the same way)."""
    prefix: str
    started: float

    def __call__(self, message: str) -> None:
        elapsed = int(time.time() - self.started)
        print(f"[{elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}] {self.prefix}: "
              f"{message}", flush=True)


@dataclasses.dataclass(frozen=True)
class Unit:
    """One (row, seed) of the plan."""
    index: int
    row: str
    seed: int
    key: str
    pretrain_key: str
    train_config: dict
    eval_config: dict
    label_uses: tuple[str, ...]


def plan_units(study: Study) -> list[Unit]:
    """The (row, seed) units with their configs and keys, seed-major: every row's first seed
    in table order, then every second seed, ... A sitting that stops early thus leaves a table
    with one seed of every row rather than all the seeds of a few rows."""
    units = []
    ordered = sorted(((position, row_index, row, seed)
                      for row_index, row in enumerate(study.rows)
                      for position, seed in enumerate(study.seeds_of(row))),
                     key=lambda unit: unit[:2])
    for _, _, row, seed in ordered:
        config = row_config(study, row, seed)
        shared = at_shared_seed(study, config)
        pretrain = keys.pretrain_key(shared)
        units.append(Unit(
            index=len(units), row=row.name, seed=seed,
            key=keys.row_key(config, pretrain, {"split": study.split,
                                                "shared_seed": study.shared_seed}),
            pretrain_key=pretrain, train_config=config.to_dict(),
            eval_config=shared.to_dict(), label_uses=tuple(ground_truth_label_uses(config))))
    return units


def run_study(study: Study, study_path: str, output_dir: str, *, command: str = "",
              log: Callable[[str], None] | None = None) -> list[dict]:
    """Runs (or resumes) `study` into `output_dir` and writes its report; returns the results
    of every (row, seed) in table order. `command` is quoted in results.md.

    Raises spec.StudyError (from planning, before any work) and StudyRunError."""
    started = time.time()
    log = log or ProgressLog("study", started)
    units = plan_units(study)
    first = units[0]
    data_config = at_shared_seed(study, row_config(study, study.rows[0], first.seed))
    data_dir = os.path.join(output_dir, DATA_DIR,
                            keys.data_key(data_config, study.source_dir)[:_KEY_CHARS])
    os.makedirs(output_dir, exist_ok=True)
    write_json(os.path.join(output_dir, PLAN), {
        "study": study.name, "study_file": study_path, "data_dir": data_dir,
        "units": [{"row": unit.row, "seed": unit.seed, "key": unit.key,
                   "pretrain_key": unit.pretrain_key} for unit in units]})

    _preprocess(study, data_config, data_dir, log)
    pretrain_dirs = {}
    for unit in units:
        if unit.pretrain_key in pretrain_dirs:
            continue
        directory = os.path.join(output_dir, PRETRAIN_DIR, unit.pretrain_key[:_KEY_CHARS])
        pretrain_dirs[unit.pretrain_key] = directory
        progress = ProgressLog(f"encoders {len(pretrain_dirs)} (first used by row "
                               f"{unit.row!r})", started)
        if stages.is_pretrained(directory):
            progress(f"pretrained in an earlier sitting, reused ({directory})")
            continue
        progress(f"pretraining in {directory}")
        _in_fresh_process(f"pretraining {directory}", stages.pretrain_encoders,
                          unit.eval_config, data_dir, directory, progress)

    results = []
    for unit in units:
        row_dir = os.path.join(output_dir, ROWS_DIR, unit.key[:_KEY_CHARS])
        progress = ProgressLog(f"row {unit.index + 1}/{len(units)} {unit.row!r} seed {unit.seed}",
                               started)
        finished = os.path.join(row_dir, stages.RESULT)
        if os.path.exists(finished):
            progress(f"finished earlier, reused ({row_dir})")
            # under this row's name: another row (or this one before a rename) may have run it
            results.append({**read_json(finished), "row": unit.row})
            continue
        progress(f"training, exporting and evaluating in {row_dir}")
        results.append(_in_fresh_process(
            f"row {unit.row!r} seed {unit.seed} ({row_dir})", stages.train_export_evaluate,
            _unit_work(study, unit, row_dir, data_dir, pretrain_dirs[unit.pretrain_key],
                       os.path.join(output_dir, EVAL_CACHE)), progress))
        progress("done")

    log("writing the report")
    report.write_report(study, study_path, output_dir, results, command)
    plots.write_figures(output_dir, results,
                        {result["key"]: os.path.join(output_dir, ROWS_DIR,
                                                     result["key"][:_KEY_CHARS])
                         for result in results})
    log(f"results in {os.path.join(output_dir, report.RESULTS_MD)}")
    return results


def _unit_work(study: Study, unit: Unit, row_dir: str, data_dir: str, pretrained_dir: str,
               cache_dir: str) -> dict:
    """What `stages.train_export_evaluate` needs for `unit`."""
    eval_config = {**unit.eval_config,
                   "eval": {**unit.eval_config["eval"], "statistics_cache_dir": cache_dir}}
    return {"row_dir": row_dir, "data_dir": data_dir, "pretrained_dir": pretrained_dir,
            "split": study.split, "comparison_stories": study.comparison_stories,
            "train_config": unit.train_config, "eval_config": eval_config,
            "result": {"row": unit.row, "seed": unit.seed, "key": unit.key,
                       "pretrain_key": unit.pretrain_key, "label_uses": list(unit.label_uses),
                       "config": unit.train_config}}


def _preprocess(study: Study, config, data_dir: str, log) -> None:
    """Preprocesses the study's data into `data_dir` unless its manifest is there (a partial
    directory of an interrupted sitting is overwritten)."""
    if os.path.exists(os.path.join(data_dir, MANIFEST_FILE)):
        log(f"data: {data_dir} (preprocessed in an earlier sitting)")
        return
    log(f"preprocessing {config.data.dataset} into {data_dir}")
    run_preprocess(config.data.dataset, study.source_dir, data_dir, config.data.image_size,
                   config=config, overwrite=os.path.isdir(data_dir))


def _in_fresh_process(what: str, function, *args):
    """function(*args) in a new Python process (spawned: no state inherited); its exception,
    or its process's death, becomes StudyRunError naming `what`. The process ends with the
    study's (`_end_with_parent`)."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context,
                                                initializer=_end_with_parent,
                                                initargs=(os.getpid(),)) as pool:
        try:
            return pool.submit(function, *args).result()
        except concurrent.futures.process.BrokenProcessPool as error:
            raise StudyRunError(f"{what}: its process died ({error}); rerun the study to "
                                "resume") from error
        except Exception as error:  # the unit's own error, re-raised from its process
            raise StudyRunError(f"{what} failed: {type(error).__name__}: {error}; fix it and "
                                "rerun the study to resume") from error


def _end_with_parent(parent_pid: int) -> None:
    """Makes this worker get SIGTERM when the study process dies (Linux prctl
    PR_SET_PDEATHSIG; elsewhere a no-op). Why: a study stopped by a signal would otherwise leave
    its worker training on, and the rerun would then resume the same run directory beside it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:   # the study died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
