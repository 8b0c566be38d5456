"""Pretrain the text and image encoders (DAMSM or the paper's Eq. 6) and compute the offline
clustering centroids.

  python -m pipelines.pretrain --config=configs/default.py --data_dir=runs/data \\
      --output_dir=runs/pretrain [--config.pretrain.epochs=N] [--overwrite]

Rerunning an interrupted run with the same flags resumes it from its last finished epoch. At the
end the retrieval figures on the val split are printed (they are also in OUTPUT/manifest.json).
"""
from absl import app, flags
from ml_collections import config_flags

from pipelines import cli
from storyvis_tf.training.pretrain import PretrainArgumentError, retrieval_table, run_pretrain

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/default.py",
    "Experiment config; its text_encoder, image_encoder, pretrain, losses and clustering "
    "sections are used.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Output directory of pipelines.preprocess.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where the encoders, centroids and "
                                  "manifest go (the --pretrained_dir of pipelines.train).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an earlier pretraining run "
                               "(finished or interrupted) in --output_dir.")


@cli.one_line_errors
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    output_dir = _OUTPUT_DIR.value or ""
    config = cli.take_data_shape_from(_CONFIG.value, _DATA_DIR.value or "")
    try:  # the arguments are checked before any work
        manifest = run_pretrain(config, _DATA_DIR.value or "", output_dir,
                                overwrite=_OVERWRITE.value)
    except PretrainArgumentError as error:
        cli.fail(str(error))
    print(f"wrote the pretrained encoders ({manifest['objective']}, {manifest['epochs']} "
          f"epochs) and {manifest['centroids_shape'][0]} centroids to {output_dir}")
    print(retrieval_table(manifest["retrieval"]))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
