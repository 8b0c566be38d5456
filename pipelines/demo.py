"""The README demo: every stage of the pipeline on the embedded synthetic dataset, on a CPU.

  python -m pipelines.demo --output_dir=demo_output [--config=configs/demo.py] [--overwrite]

  OUT/data/           preprocess (Beam): TFRecords, vocab.txt, manifest.json, rejected/
  OUT/data_preview.png  a few decoded validation stories with their sentences
  OUT/pretrain/       pretrain: text and image encoders, offline centroids, retrieval figures
  OUT/run/            train (short): generator weights, samples/, TensorBoard, metrics.jsonl
  OUT/export/<v>/     export: the TF-Hub / TF Serving SavedModel (strings in, images out)
  OUT/eval/           evaluate: metrics.json and real-vs-generated PNG grids of the test split

A stage whose output is already complete is reused (rerun with --overwrite to start afresh);
an interrupted pretrain or train stage resumes where it stopped.
"""
import os
import shutil
import time

from absl import app, flags
from ml_collections import config_flags
from PIL import Image

from pipelines import cli
from storyvis_tf.data import loader
from storyvis_tf.data.preprocess import run_preprocess
from storyvis_tf.evaluation.evaluator import SAMPLES_DIR, evaluate, summary_table
from storyvis_tf.export.savedmodel import export_generator
from storyvis_tf.json_files import read_json
from storyvis_tf.label_use import ground_truth_label_uses
from storyvis_tf.training import pretrain, trainer
from storyvis_tf.training.run_dir import GENERATOR_WEIGHTS
from storyvis_tf.visualization import story_grid, to_uint8

_CONFIG = config_flags.DEFINE_config_file("config", "configs/demo.py", "Demo experiment config.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "demo_output", "Where every stage writes.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Delete OUTPUT_DIR first and redo all stages.")
_PREVIEW_STORIES = 4


def preview_stories(data_dir: str, path: str) -> None:
    """Decodes a few validation stories from the TFRecords and saves them as a PNG grid."""
    batch = next(iter(loader.load_dataset(data_dir, "val", _PREVIEW_STORIES)))
    sentences = [[s.decode("utf-8") for s in story] for story in batch["sentences"].numpy()]
    Image.fromarray(story_grid(to_uint8(batch["images"]), sentences)).save(path)
    for story_id, story in zip(batch["story_id"].numpy(), sentences):
        print(f"  {story_id.decode()}: " + " | ".join(story))


@cli.one_line_errors
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    started = time.perf_counter()
    config, out = _CONFIG.value, _OUTPUT_DIR.value
    if _OVERWRITE.value and os.path.isdir(out):
        shutil.rmtree(out)
    data_dir, pretrain_dir, run_dir, export_dir, eval_dir = (
        os.path.join(out, name) for name in ("data", "pretrain", "run", "export", "eval"))

    print(f"== 1/5 preprocess the embedded synthetic dataset -> {data_dir}")
    if not os.path.exists(os.path.join(data_dir, "manifest.json")):
        run_preprocess("synthetic", "", data_dir, config.data.image_size, config=config)
    manifest = loader.read_manifest(data_dir)
    print(f"  stories {manifest['splits']}, rejected {manifest['rejected']}, "
          f"vocabulary {manifest['vocab_size']} words")
    preview = os.path.join(out, "data_preview.png")
    preview_stories(data_dir, preview)
    print(f"  decoded stories: {preview}")

    print(f"== 2/5 pretrain the text and image encoders -> {pretrain_dir}")
    if os.path.exists(os.path.join(pretrain_dir, "manifest.json")):
        pretrained = read_json(os.path.join(pretrain_dir, "manifest.json"))
    else:
        pretrained = pretrain.run_pretrain(config, data_dir, pretrain_dir, verbose=2)
    print(pretrain.retrieval_table(pretrained["retrieval"]))
    config.train.pretrained_dir = pretrain_dir

    print(f"== 3/5 train the story GAN (short) -> {run_dir}")
    if not os.path.exists(os.path.join(run_dir, GENERATOR_WEIGHTS)):
        trainer.train(config, data_dir, run_dir, verbose=2)
    samples = sorted(os.listdir(os.path.join(run_dir, "samples")))
    print(f"  sample grids: {os.path.join(run_dir, 'samples', samples[-1])}")

    print(f"== 4/5 export the generator -> {export_dir}")
    versions = sorted(int(v) for v in os.listdir(export_dir)) if os.path.isdir(export_dir) else []
    version_dir = (os.path.join(export_dir, str(versions[-1])) if versions
                   else export_generator(run_dir, export_dir))
    print(f"  SavedModel: {version_dir}")

    print(f"== 5/5 evaluate the exported model on the test split -> {eval_dir}")
    if os.path.exists(os.path.join(eval_dir, "metrics.json")):
        report = read_json(os.path.join(eval_dir, "metrics.json"))
    else:
        report = evaluate(version_dir, data_dir, "test", eval_dir, config,
                          pretrained_dir=pretrain_dir)
    print(summary_table(report))
    labels = ground_truth_label_uses(config)
    print(f"ground-truth character labels read by this config: "
          f"{', '.join(labels) if labels else 'none'}")
    print(f"generated test stories under their sentences (real frames above): "
          f"{os.path.join(eval_dir, SAMPLES_DIR)}")
    print(f"demo finished in {(time.perf_counter() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
