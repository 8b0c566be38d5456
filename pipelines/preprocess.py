"""Preprocess a story dataset into sharded TFRecords with Apache Beam.

  python -m pipelines.preprocess --dataset=synthetic --output_dir=runs/data
  python -m pipelines.preprocess --dataset=pororo --data_dir=pororo_png --output_dir=runs/pororo \\
      --config=configs/paper_pororo.py --config.data.num_shards=16 --runner=FlinkRunner ...

Flags not defined here (--runner, --direct_num_workers, --project, ...) go to Beam's
PipelineOptions (a flag neither defines is refused); without --runner a local runner that
downloads nothing is used. CLEVR-SV samples need --split (see storyvis_tf.data.readers.clevr):

  python -m pipelines.preprocess --dataset=clevr --data_dir=clevr_dataset --image_size=32 \
      --split=train=0.8,val=0.1,test=0.1 --output_dir=runs/clevr
"""
from absl import app, flags
from ml_collections import config_flags

from pipelines import cli
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
_SPLIT = flags.DEFINE_string(
    "split", None, "Story split for readers without split files (clevr): story-number ranges "
    "'train=0-79,val=80-87,test=88-' or seeded fractions 'train=0.8,val=0.1,test=0.1'; "
    "default: config.data.split ('' = the release's split).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False,
                               "Replace an earlier preprocessing run in --output_dir.")


@cli.one_line_errors
def main(argv: list[str]) -> None:
    config = _CONFIG.value
    if _SPLIT.value is not None:
        config.data.split = _SPLIT.value
    dataset = _DATASET.value or config.data.dataset
    image_size = config.data.image_size if _IMAGE_SIZE.value is None else _IMAGE_SIZE.value
    output_dir = _OUTPUT_DIR.value or ""
    try:
        manifest = run_preprocess(dataset, _DATA_DIR.value, output_dir, image_size, argv[1:],
                                  config=config, overwrite=_OVERWRITE.value)
    except PreprocessArgumentError as error:
        cli.fail(str(error))
    splits = ", ".join(f"{split} {n}" for split, n in manifest["splits"].items())
    print(f"wrote {manifest['dataset']} TFRecords to {output_dir}: {splits} stories; "
          f"rejected {manifest['rejected']} (see {output_dir}/rejected/)")


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_known_flags)
