"""Train the contrastive + clustering story GAN on preprocessed data.

  python -m pipelines.train --config=configs/default.py --data_dir=runs/data \\
      --output_dir=runs/gan --pretrained_dir=runs/pretrain [--config.train.epochs=240]

One experiment per config file (configs/ablations/ has every row of the paper's Tables 3 and 4).
Several GPUs are used through MirroredStrategy; rerunning an interrupted command resumes it.
"""
import os

from absl import app, flags
from ml_collections import config_flags

from pipelines import cli
from storyvis_tf.config_checks import check_image_size
from storyvis_tf.data.errors import DatasetFormatError
from storyvis_tf.data.loader import read_manifest
from storyvis_tf.stage_dirs import RUN_KIND, check_stage_directory
from storyvis_tf.training import trainer

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Experiment config.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Output directory of pipelines.preprocess.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Run directory to write (or resume).")
_PRETRAINED_DIR = flags.DEFINE_string(
    "pretrained_dir", None, "Output directory of pipelines.pretrain; overrides "
    "config.train.pretrained_dir.")


def validated_config():
    """The config with --pretrained_dir applied, after every check that needs no training."""
    config = _CONFIG.value
    if _PRETRAINED_DIR.value is not None:
        config.train.pretrained_dir = _PRETRAINED_DIR.value
    if not _DATA_DIR.value:
        raise app.UsageError("--data_dir is required (the output of pipelines.preprocess)")
    if not _OUTPUT_DIR.value:
        raise app.UsageError("--output_dir is required (the run directory to write)")
    config = cli.take_data_shape_from(config, _DATA_DIR.value)
    try:
        check_image_size(config.data.image_size, "data.image_size")
        trainer.check_data(config, read_manifest(_DATA_DIR.value), _DATA_DIR.value)
        check_stage_directory(_OUTPUT_DIR.value, RUN_KIND)
    except (DatasetFormatError, ValueError) as error:
        cli.fail(str(error))
    pretrained_dir = config.train.pretrained_dir
    if pretrained_dir and not os.path.isdir(pretrained_dir):
        raise app.UsageError(f"--pretrained_dir {pretrained_dir} does not exist")
    if config.losses.cluster and config.clustering.mode == "offline" and not pretrained_dir:
        raise app.UsageError("clustering.mode = 'offline' needs --pretrained_dir (the centroids "
                             "of a pipelines.pretrain run)")
    for key in ("epochs", "batch_size"):
        if config.train[key] < 1:
            raise app.UsageError(f"config.train.{key} must be >= 1, got {config.train[key]}")
    return config


@cli.one_line_errors
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = validated_config()
    trainer.train(config, _DATA_DIR.value, _OUTPUT_DIR.value)
    print(f"run directory: {_OUTPUT_DIR.value} (generation weights, samples/, metrics.jsonl, "
          f"tensorboard/)")


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
