"""How hard each term of the generator's objective pushes the generated frames.

  python -m benchmarks.gradient_balance --config=configs/synthetic_cpu.py --data_dir=DATA \\
      [--pretrained_dir=PRETRAIN] [--checkpoint=RUN/checkpoints/latest.weights.h5] \\
      [--batches=4] [--output=benchmarks/results/gradient_balance.json]

For every term of `objectives.generator_losses` (gan, character when switched on, si_ss, i_s,
r_w, cluster), the root mean square of its gradient with respect to the generated frames, on
--batches training batches of config.train.batch_size stories (medians over the batches), alone
and multiplied by its weight in G's total (losses.gan_weight, losses.character_weight,
losses.generator_alignment_weight for the alignment terms), and the sum of the weighted
alignment RMS over the weighted GAN RMS. With Adam the
scale of the total does not matter but the ratio between its terms does: it decides whether G
learns from the discriminator or from the frozen image encoder. --checkpoint loads a run's
BackupAndRestore weights (same config; the file exists while a run is in progress or after an
interruption, fit deletes it when it finishes), so the balance can be read at any point of
training; without it the networks are freshly initialised (and the encoders pretrained when
--pretrained_dir is given).
"""
import json
import statistics
import sys

import tensorflow as tf
from absl import app, flags
from ml_collections import config_flags

from benchmarks.output import write_result
from storyvis_tf.data.loader import load_dataset, load_vocabulary, read_manifest
from storyvis_tf.models.text_encoder import encode_stories
from storyvis_tf.training import objectives
from storyvis_tf.training.pretrained import load_pretrained
from storyvis_tf.training.story_gan import build_story_gan

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Experiment config.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Output directory of pipelines.preprocess.",
                                required=True)
_PRETRAINED_DIR = flags.DEFINE_string("pretrained_dir", "", "Output of pipelines.pretrain.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", "", "A run's checkpoints/latest.weights.h5.")
_BATCHES = flags.DEFINE_integer("batches", 4, "Training batches measured (medians reported).")
_OUTPUT = flags.DEFINE_string("output", "benchmarks/results/gradient_balance.json",
                              "Where the JSON result goes.")


def term_weights(config) -> dict:
    """Each generator term's factor in G's total, up to the common generator_weight."""
    losses = config.losses
    return {"gan": losses.gan_weight, "character": losses.character_weight,
            **{term: losses.generator_alignment_weight
               for term in (*objectives.GENERATOR_CONTRASTIVE, "cluster")}}


def term_gradients(gan, config, batch) -> dict:
    """{term: RMS of d term / d generated frames} on one batch (one fake per story)."""
    text = encode_stories(gan.text_encoder, batch["token_ids"], training=False)
    stories = batch["token_ids"].shape[0]
    generated = gan.generator(gan.generator_inputs(
        batch, text, tf.random.normal([stories, config.generator.noise_dim], seed=0)),
        training=False)
    images = tf.Variable(generated["images"])
    with tf.GradientTape(persistent=True) as tape:
        terms = objectives.generator_losses(gan, config, {"images": images}, text,
                                            labels=batch["labels"])
    weighted_terms = term_weights(config)
    return {term: float(tf.sqrt(tf.reduce_mean(tf.square(tape.gradient(value, images)))))
            for term, value in terms.items() if term in weighted_terms}


def main(argv):
    del argv
    config = _CONFIG.value
    vocabulary = load_vocabulary(_DATA_DIR.value)
    length = config.data.max_sentence_length
    pretrained = (load_pretrained(_PRETRAINED_DIR.value, config, vocabulary.sha256())
                  if _PRETRAINED_DIR.value else None)
    num_labels = len(read_manifest(_DATA_DIR.value)["label_names"])
    gan = build_story_gan(config, len(vocabulary), length, pretrained, num_labels=num_labels)
    if _CHECKPOINT.value:
        gan.load_weights(_CHECKPOINT.value)
    batches = load_dataset(_DATA_DIR.value, "train", config.train.batch_size,
                           max_sentence_length=length).take(_BATCHES.value)
    runs = [term_gradients(gan, config, batch) for batch in batches]
    weights = term_weights(config)
    rms = {term: statistics.median(run[term] for run in runs) for term in runs[0]}
    weighted = {term: value * weights[term] for term, value in rms.items()}
    result = {"command": " ".join(sys.argv), "checkpoint": _CHECKPOINT.value,
              "step": int(gan.g_optimizer.iterations.numpy()), "batches": len(runs),
              "gradient_rms": rms, "weights": weights, "weighted_gradient_rms": weighted,
              "alignment_over_gan": sum(v for k, v in weighted.items()
                                        if k not in ("gan", "character")) / weighted["gan"]}
    write_result(_OUTPUT.value, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app.run(main)
