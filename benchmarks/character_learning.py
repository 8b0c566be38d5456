"""How fast the discriminator's character classifier learns who is in a REAL frame, alone.

  python -m benchmarks.character_learning --config=configs/synthetic_cpu.py --data_dir=DATA \\
      [--steps=800] [--config.discriminator.spectral_norm=False] \\
      [--config.discriminator.character_trunk=separate] \\
      [--output=benchmarks/results/character_learning.json]

Builds the config's discriminator with its character classifier (losses.character_classification's
head, over the dataset's labels) and trains only that path, on the training split's real frames
with the discriminator's Adam (train.discriminator_learning_rate, beta_1, beta_2), for --steps
batches of train.batch_size stories. Reports the mean character loss over each window of 100
steps next to the loss of the best constant guess (each character's training frequency), the
floor a classifier that has learnt nothing sits on. In the GAN the generator can only learn the
characters' looks once this classifier (and D's conditional logit, which faces the same
features) can tell them apart, so its speed bounds how soon samples can show who is who. The
words given to the discriminator are zeros: the classifier of a joint discriminator and a
separate trunk read the image only.
"""
import json
import sys

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags
from ml_collections import config_flags

from benchmarks.output import write_result
from storyvis_tf.data.loader import load_dataset, read_manifest
from storyvis_tf.losses.gan import character_loss
from storyvis_tf.models.discriminator import build_discriminator

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Experiment config.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Output directory of pipelines.preprocess.",
                                required=True)
_STEPS = flags.DEFINE_integer("steps", 800, "Training batches.", lower_bound=100)
_OUTPUT = flags.DEFINE_string("output", "benchmarks/results/character_learning.json",
                              "Where the JSON result goes.")
_WINDOW = 100


def constant_guess_loss(labels: np.ndarray) -> float:
    """The character loss of predicting every character's frequency in `labels` [N, C]: the
    binary entropy of each frequency, averaged over characters."""
    p = np.clip(labels.mean(axis=0), 1e-7, 1 - 1e-7)
    return float(np.mean(-p * np.log(p) - (1 - p) * np.log(1 - p)))


def main(argv):
    del argv
    config = _CONFIG.value
    manifest = read_manifest(_DATA_DIR.value)
    num_labels, size = len(manifest["label_names"]), manifest["image_size"]
    if not num_labels:
        raise app.UsageError(f"{_DATA_DIR.value}/manifest.json lists no label_names: the "
                             "character classifier needs a dataset with character labels")
    length, dim = config.data.max_sentence_length, config.text_encoder.hidden_dim
    keras.utils.set_random_seed(config.seed)
    discriminator = build_discriminator(config.discriminator, dim, size, num_labels)
    train = config.train
    optimizer = keras.optimizers.Adam(train.discriminator_learning_rate, beta_1=train.beta_1,
                                         beta_2=train.beta_2)
    frames = train.batch_size * manifest["frames_per_story"]
    text = {"words": tf.zeros((frames, length, dim)), "word_mask": tf.ones((frames, length), bool),
            "sentence": tf.zeros((frames, dim))}

    @tf.function(jit_compile=train.jit_compile)
    def step(images, labels):
        with tf.GradientTape() as tape:
            logits = discriminator({"images": images, **text}, training=True)["characters"]
            loss = character_loss(logits, labels)
        pairs = [(g, v) for g, v in zip(tape.gradient(loss, discriminator.trainable_variables),
                                        discriminator.trainable_variables) if g is not None]
        optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        return loss

    batches = load_dataset(_DATA_DIR.value, "train", train.batch_size, shuffle=True,
                           seed=config.seed, repeat=True, drop_remainder=True,
                           max_sentence_length=length).take(_STEPS.value)
    losses, seen = [], []
    for batch in batches:
        labels = tf.reshape(batch["labels"], (frames, num_labels))
        seen.append(labels.numpy())
        losses.append(float(step(tf.reshape(batch["images"], (frames, size, size, 3)), labels)))
    windows = {str(end): float(np.mean(losses[end - _WINDOW:end]))
               for end in range(_WINDOW, len(losses) + 1, _WINDOW)}
    result = {"command": " ".join(sys.argv), "spectral_norm": config.discriminator.spectral_norm,
              "character_trunk": config.discriminator.character_trunk,
              "architecture": config.discriminator.architecture,
              "learning_rate": train.discriminator_learning_rate,
              "constant_guess_loss": constant_guess_loss(np.concatenate(seen)),
              "mean_loss_by_step": windows}
    write_result(_OUTPUT.value, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app.run(main)
