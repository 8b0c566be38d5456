"""Preprocess a story dataset into sharded TFRecords with Apache Beam.

  python -m pipelines.preprocess --dataset=synthetic --output_dir=runs/data
  python -m pipelines.preprocess --dataset=pororo --data_dir=pororo_png --output_dir=runs/pororo \\
      --config=configs/paper_pororo.py --config.data.num_shards=16 --runner=FlinkRunner ...

Flags not defined here (--runner, --direct_num_workers, --project, ...) go to Beam's
PipelineOptions; without --runner a local runner that downloads nothing is used.
"""
from absl import app, flags
from ml_collections import config_flags

from storyvis_tf.data.preprocess import PreprocessArgumentError, run_preprocess
from storyvis_tf.data.readers import DATASETS

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py",
                                          "Experiment config; its `data` section is used.")
_DATASET = flags.DEFINE_string("dataset", None,
                               f"One of {', '.join(DATASETS)}; default: config.data.dataset.")
_DATA_DIR = flags.DEFINE_string("data_dir", "",
                                "Directory of the dataset's public release (not for synthetic).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where the TFRecords, vocabulary, "
                                  "dead letter and manifest go.")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", None,
                                   "Frame side in pixels; default: config.data.image_size.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False,
                               "Replace an earlier preprocessing run in --output_dir.")


def _parse_flags(argv: list[str]) -> list[str]:
    """Parses our flags and keeps the rest (after the program name) for Beam."""
    return flags.FLAGS(argv, known_only=True)


def main(argv: list[str]) -> None:
    config = _CONFIG.value
    dataset = _DATASET.value or config.data.dataset
    image_size = config.data.image_size if _IMAGE_SIZE.value is None else _IMAGE_SIZE.value
    output_dir = _OUTPUT_DIR.value or ""
    try:
        manifest = run_preprocess(dataset, _DATA_DIR.value, output_dir, image_size, argv[1:],
                                  config=config, overwrite=_OVERWRITE.value)
    except PreprocessArgumentError as error:
        raise app.UsageError(str(error)) from None
    splits = ", ".join(f"{split} {n}" for split, n in manifest["splits"].items())
    print(f"wrote {manifest['dataset']} TFRecords to {output_dir}: {splits} stories; "
          f"rejected {manifest['rejected']} (see {output_dir}/rejected/)")


if __name__ == "__main__":
    app.run(main, flags_parser=_parse_flags)
