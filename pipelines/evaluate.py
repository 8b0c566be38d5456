"""Evaluate an EXPORTED generator on a split of a preprocessed dataset (FID/FSD or their
dataset-trained fallbacks fid_domain/fsd_domain, character F1, frame accuracy, Cosine,
R-precision) and write EVAL/metrics.json and real-vs-generated sample PNGs.

  python -m pipelines.evaluate --model=runs/export/1 --data_dir=runs/data --split=test \\
      --output_dir=runs/eval [--pretrained_dir=runs/pretrain] \\
      [--inception_weights=inception_v3_notop.weights.h5] [--r2plus1d_weights=r2plus1d.weights.h5]
      [--num_samples=N] [--config=configs/default.py --config.eval.batch_size=64]

Flags given here override the config's `eval` section. See storyvis_tf.evaluation.evaluator.
"""
from absl import app, flags
from ml_collections import config_flags

from pipelines import cli
from storyvis_tf.evaluation.evaluator import EvaluateArgumentError, evaluate, summary_table

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py",
                                          "Experiment config; its `eval` section and `seed`.")
_MODEL = flags.DEFINE_string("model", None, "An exported version directory, EXPORT/<version>.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Output directory of pipelines.preprocess.")
_SPLIT = flags.DEFINE_string("split", "test", "Split to evaluate on.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where metrics.json and samples/ go.")
_PRETRAINED_DIR = flags.DEFINE_string("pretrained_dir", "",
                                      "Output of pipelines.pretrain, for Cosine and R-precision.")
_INCEPTION_WEIGHTS = flags.DEFINE_string(
    "inception_weights", None, "Local InceptionV3 no-top weights, SavedModel dir or TF-Hub handle "
    "(FID); default: config.eval.inception_weights.")
_R2PLUS1D_WEIGHTS = flags.DEFINE_string(
    "r2plus1d_weights", None, "Local R(2+1)D-18 .weights.h5 (FSD); default: "
    "config.eval.r2plus1d_weights.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", None, "Stories evaluated (0 = the whole "
                                    "split); default: config.eval.num_samples.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an earlier evaluation in --output_dir.")


@cli.one_line_errors
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name, flag in (("model", _MODEL), ("data_dir", _DATA_DIR), ("output_dir", _OUTPUT_DIR)):
        if not flag.value:
            raise app.UsageError(f"--{name} is required")
    if _NUM_SAMPLES.value is not None and _NUM_SAMPLES.value < 0:
        raise app.UsageError(f"--num_samples must be >= 0, got {_NUM_SAMPLES.value}")
    config = _CONFIG.value
    for key, flag in (("inception_weights", _INCEPTION_WEIGHTS),
                      ("r2plus1d_weights", _R2PLUS1D_WEIGHTS), ("num_samples", _NUM_SAMPLES)):
        if flag.value is not None:
            config.eval[key] = flag.value
    try:
        report = evaluate(_MODEL.value, _DATA_DIR.value, _SPLIT.value, _OUTPUT_DIR.value, config,
                          pretrained_dir=_PRETRAINED_DIR.value, overwrite=_OVERWRITE.value)
    except EvaluateArgumentError as error:
        cli.fail(str(error))
    print(summary_table(report))
    print(f"wrote {_OUTPUT_DIR.value}/metrics.json and {_OUTPUT_DIR.value}/samples/")


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
