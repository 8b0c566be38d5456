"""Whether the directory of a training loop (pipelines.pretrain, pipelines.train) may be started,
resumed or extended, judged by the epochs its manifest says are done against the epochs the
config asks for; never by which files happen to be missing.

  new directory (no config.json)              start
  epochs done < config epochs, checkpoint     resume / extend from the checkpoint
                                              (CrashSafeBackup restores it and says from where)
  epochs done >= config epochs                refuse: complete (raise the epochs to extend it)
  epochs done, no checkpoint                  refuse: cannot continue without optimiser state
  checkpoint or manifest of another config    refuse, naming the keys that differ (only the
                                              epochs may change)
"""
import json
import os

import ml_collections

from storyvis_tf.json_files import read_json

CHECKPOINTS = "checkpoints"


class ResumeError(ValueError):
    """The directory holds a run this config may not start, resume or extend."""


def config_changes(saved: dict, config: ml_collections.ConfigDict,
                   allowed: tuple[str, ...] = ()) -> list[str]:
    """Dotted keys whose values differ between `saved` (a config.json) and `config`, except
    `allowed`, sorted."""
    current = json.loads(json.dumps(config.to_dict(), default=str))

    def flatten(tree, prefix=""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from flatten(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    saved, current = dict(flatten(saved)), dict(flatten(current))
    return sorted(key for key in saved.keys() | current.keys()
                  if key not in allowed and saved.get(key) != current.get(key))


def check_resume(output_dir: str, config: ml_collections.ConfigDict, *, epochs_key: str,
                 epochs_done: int | None, run_name: str) -> None:
    """Raises ResumeError when `config` may not (re)start training in `output_dir` (module
    docstring).

    epochs_key: the config's dotted epochs key ("train.epochs"); epochs_done: the epochs the
    directory's manifest records (None without one); run_name: e.g. "training run".
    """
    section, key = epochs_key.split(".")
    wanted = config[section][key]
    config_path = os.path.join(output_dir, "config.json")
    checkpoint = os.path.join(output_dir, CHECKPOINTS)
    has_checkpoint = os.path.isdir(checkpoint)
    if epochs_done is not None and epochs_done >= wanted:
        raise ResumeError(f"{output_dir} already holds a completed {run_name} of {epochs_done} "
                          f"epochs: raise --config.{epochs_key} above {epochs_done} to extend "
                          "it, or choose another --output_dir")
    if (has_checkpoint or epochs_done is not None) and os.path.exists(config_path):
        changed = config_changes(read_json(config_path), config, allowed=(epochs_key,))
        if changed:
            state = "an interrupted" if epochs_done is None else "a"
            raise ResumeError(f"{output_dir} holds {state} {run_name} with another config "
                              f"({', '.join(changed)} differ from {config_path}): continue it "
                              "with its own config (only the epochs may change) or choose "
                              "another --output_dir")
    if epochs_done is not None and not has_checkpoint:
        raise ResumeError(f"{output_dir} stopped after epoch {epochs_done} of {wanted} and its "
                          f"checkpoint {checkpoint} is gone, so it cannot be continued with "
                          "its optimiser state: choose another --output_dir")
