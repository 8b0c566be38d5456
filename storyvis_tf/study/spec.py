"""A study: rows (experiment configs) x seeds at one step budget, and the resolved experiment
config of each (row, seed), of its encoder pretraining and of its evaluation.

A study file is Python with `get_study()` returning a `Study` (configs/studies/smoke.py):

    Study(name="smoke", rows=(Row("baseline", "configs/smoke.py", {"losses.cluster": False}),
                              Row("full", "configs/smoke.py", seeds=(0, 1))),
          seeds=(0,), train_steps=4, steps_per_epoch=2,
          data={"image_size": 32, "synthetic_train": 8}, evaluation={"domain_epochs": 1})

`row_config(study, row, seed)` resolves a row: its experiment config file's `get_config()`, then
the row's overrides, then the study's `data` (over `config.data`), `train` (over `config.train`)
and `evaluation` (over `config.eval`) settings, then the budget (train.epochs = train_steps /
steps_per_epoch, train.steps_per_epoch) and the seed. Every row thus trains the same number of
steps of its own train.batch_size on the same data and is scored by the same evaluation
settings.

`shared_seed` seeds everything that must be the same for every row and seed so that rows are
compared on equal terms: preprocessing (the synthetic reader), encoder pretraining (one run
per encoder config, `keys.pretrain_key`), the evaluator's domain networks and the generation
noise of the test stories (`at_shared_seed`). The row seeds vary only the GAN training.

Relative experiment config paths are taken from the current directory (the repository root,
as for `python -m pipelines.train --config=...`).
"""
import dataclasses
import importlib.util
import os
from collections.abc import Mapping
from typing import Any

import ml_collections

from storyvis_tf.config_checks import unknown_key_message
from storyvis_tf.evaluation.evaluator import EVAL_DEFAULTS


class StudyError(ValueError):
    """A study file, or a row of it, cannot give a study; raised before any work."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the study's table.

    name: the row's name in the table and the figures.
    config: an experiment config file (Python with `get_config()`), e.g. "configs/smoke.py".
    overrides: dotted config field -> value applied over that config, e.g.
      {"losses.cluster": False}; every field must exist in the config.
    seeds: the row's seeds; None = the study's `seeds`.
    """
    name: str
    config: str
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    seeds: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Study:
    """Rows x seeds at one budget (module docstring).

    train_steps: the shared budget, in steps of each row's train.batch_size; a multiple of
      steps_per_epoch (the epoch every row's learning-rate decay, sample grids and checkpoints
      count in).
    data: config.data fields set for every row (dataset, image_size, synthetic_train/val/test,
      max_sentence_length, ...); after them every row must have the same data section, since
      the study preprocesses once.
    source_dir: the raw dataset's directory for a dataset other than the embedded "synthetic".
    train: config.train fields set for every row (e.g. jit_compile: a study pins how its rows
      are compiled, so that its results stay reproducible when a config's default changes);
      not the budget (epochs, steps_per_epoch), which train_steps and steps_per_epoch set.
    evaluation: config.eval fields set for every row (num_samples, domain_epochs, ...; also
      the evaluator's settings that a config may lack, `evaluator.EVAL_DEFAULTS`).
    split: the split the rows are scored on.
    comparison_stories: test stories drawn by every row side by side in comparison.png.
    """
    name: str
    rows: tuple[Row, ...]
    train_steps: int
    steps_per_epoch: int
    seeds: tuple[int, ...] = (0,)
    shared_seed: int = 0
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    source_dir: str = ""
    train: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    evaluation: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    split: str = "test"
    comparison_stories: int = 3
    description: str = ""

    def seeds_of(self, row: Row) -> tuple[int, ...]:
        return tuple(self.seeds if row.seeds is None else row.seeds)


def load_study(path: str) -> Study:
    """The Study of the file `path` (its `get_study()`), checked (`check_study`)."""
    study = _call_file_function(path, "get_study", "study")
    if not isinstance(study, Study):
        raise StudyError(f"{path}: get_study() must return storyvis_tf.study.spec.Study, got "
                         f"{type(study).__name__}")
    check_study(study, path)
    return study


def load_experiment_config(path: str) -> ml_collections.ConfigDict:
    """The ConfigDict of an experiment config file's `get_config()`."""
    config = _call_file_function(path, "get_config", "experiment config")
    if not isinstance(config, ml_collections.ConfigDict):
        raise StudyError(f"{path}: get_config() must return an ml_collections.ConfigDict, got "
                         f"{type(config).__name__}")
    return config


def check_study(study: Study, path: str) -> None:
    """Raises StudyError naming the file and field for a study that cannot run: no rows,
    duplicate row names, a budget that is not a whole number of epochs, empty seeds, and any
    row whose config cannot be resolved (`row_config`) or served (labels as generator input),
    or whose data section differs from the first row's."""
    if not study.rows:
        raise StudyError(f"{path}: the study has no rows")
    names = [row.name for row in study.rows]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise StudyError(f"{path}: row names must be unique, repeated: {', '.join(duplicates)}")
    if study.steps_per_epoch < 1 or study.train_steps < study.steps_per_epoch or (
            study.train_steps % study.steps_per_epoch):
        raise StudyError(f"{path}: train_steps ({study.train_steps}) must be a positive multiple "
                         f"of steps_per_epoch ({study.steps_per_epoch})")
    if study.comparison_stories < 1:
        raise StudyError(f"{path}: comparison_stories must be >= 1, got "
                         f"{study.comparison_stories}")
    first_data = None
    for row in study.rows:
        seeds = study.seeds_of(row)
        if not seeds or len(set(seeds)) != len(seeds):
            raise StudyError(f"{path}: row {row.name!r} needs distinct seeds, got {list(seeds)}")
        config = row_config(study, row, seeds[0])
        if config.generator.use_character_labels:
            raise StudyError(f"{path}: row {row.name!r} sets generator.use_character_labels: its "
                             "generator needs per-frame labels, which the exported serving "
                             "signature the study evaluates cannot give it")
        data = config.data.to_dict()
        first_data = first_data or (row.name, data)
        if data != first_data[1]:
            differing = sorted(key for key in {*data, *first_data[1]}
                               if data.get(key) != first_data[1].get(key))
            raise StudyError(f"{path}: rows {first_data[0]!r} and {row.name!r} differ in "
                             f"data.{', data.'.join(differing)}; the study preprocesses once: "
                             "set them in the study's data settings")


def row_config(study: Study, row: Row, seed: int) -> ml_collections.ConfigDict:
    """The training config of `row` at `seed` (module docstring). Raises StudyError naming the
    row and field for an unknown field or a value of the wrong type."""
    for field in ("train.epochs", "train.steps_per_epoch", "seed"):
        if field in row.overrides or field.removeprefix("train.") in study.train:
            raise StudyError(f"row {row.name!r} overrides {field}: the study sets it (budget: "
                             "train_steps and steps_per_epoch; seeds: the row's seeds)")
    config = load_experiment_config(row.config)
    for prefix, settings in (("", row.overrides), ("data.", study.data),
                             ("train.", study.train), ("eval.", study.evaluation)):
        for field, value in settings.items():
            _set_field(config, prefix + field, value, row.name)
    config.train.epochs = study.train_steps // study.steps_per_epoch
    config.train.steps_per_epoch = study.steps_per_epoch
    config.seed = seed
    return config


def at_shared_seed(study: Study, config: ml_collections.ConfigDict
                   ) -> ml_collections.ConfigDict:
    """A copy of the row's config at the study's shared seed: the config its encoders are
    pretrained with and the one it is evaluated with (the same domain networks and the same
    generation noise of each test story for every row and seed)."""
    copy = ml_collections.ConfigDict(config.to_dict())
    copy.seed = study.shared_seed
    return copy


def _set_field(config: ml_collections.ConfigDict, dotted: str, value: Any, row: str) -> None:
    *sections, field = dotted.split(".")
    problem = unknown_key_message(config, dotted)
    # The evaluator also reads eval settings that configs may lack (EVAL_DEFAULTS).
    if problem and not (sections == ["eval"] and field in EVAL_DEFAULTS):
        raise StudyError(f"row {row!r}: {problem}")
    node = config
    for section in sections:
        node = node[section]
    try:
        node[field] = value
    except (TypeError, ValueError) as error:
        raise StudyError(f"row {row!r}: {dotted} = {value!r}: {error}") from None


def _call_file_function(path: str, function: str, what: str):
    if not os.path.isfile(path):
        raise StudyError(f"{what} file {path} does not exist (relative paths are taken from the "
                         f"current directory, {os.getcwd()})")
    spec = importlib.util.spec_from_file_location(
        f"_storyvis_{what.replace(' ', '_')}_{abs(hash(os.path.abspath(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, function):
        raise StudyError(f"{path} defines no {function}()")
    return getattr(module, function)()
