"""How far apart the pretrained text encoder puts sentences that differ only in the character
they name: the generator and discriminator see the text only through this frozen encoder, so
two names it maps to nearly the same sentence vector are two characters the GAN cannot tell
apart.

  python -m benchmarks.name_separation --pretrained_dir=PRETRAIN \\
      [--output=benchmarks/results/name_separation.json]

For each template below, one sentence per character name of the pretraining data (its
manifest's label_names), encoded by the pretrained text encoder; reported per template: the
mean and the largest cosine similarity between the sentence vectors of two different names, and
the closest pair. Identical vectors give 1; the figure to watch is the largest.
"""
import os
import platform
import sys

import ml_collections
import numpy as np
from absl import app, flags
from keras import ops

from benchmarks.output import write_result
from storyvis_tf.json_files import read_json
from storyvis_tf.models.text_encoder import encode_stories
from storyvis_tf.training import pretrained

_PRETRAINED_DIR = flags.DEFINE_string("pretrained_dir", None, "A pipelines.pretrain output.")
_OUTPUT = flags.DEFINE_string("output", "benchmarks/results/name_separation.json",
                              "Where the JSON result goes.")
TEMPLATES = ("{} sits on the left", "we see {} sleeping in the middle",
             "rex jumps on the right and {} sits on the left")


def name_similarities(text_encoder, vocabulary, names, template: str,
                      sentence_length: int) -> np.ndarray:
    """Cosine similarity [C, C] of the sentence vectors of `template` filled with each name."""
    token_ids = np.zeros((len(names), 1, sentence_length), "int32")
    for row, name in enumerate(names):
        ids = vocabulary.encode(template.format(name.lower()))[:sentence_length]
        token_ids[row, 0, :len(ids)] = ids
    vectors = ops.convert_to_numpy(encode_stories(text_encoder, token_ids)["sentence"])[:, 0]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors @ vectors.T


def main(argv):
    del argv
    if not _PRETRAINED_DIR.value:
        raise app.UsageError("--pretrained_dir is required (the output of pipelines.pretrain)")
    config = ml_collections.ConfigDict(
        read_json(os.path.join(_PRETRAINED_DIR.value, pretrained.CONFIG)))
    encoders = pretrained.load_pretrained(_PRETRAINED_DIR.value, config)
    names = encoders["manifest"]["dataset"].get("label_names") or []
    if len(names) < 2:
        raise app.UsageError(f"{_PRETRAINED_DIR.value} was pretrained on data with fewer than "
                             "two character names (label_names)")
    templates = {}
    for template in TEMPLATES:
        similarity = name_similarities(encoders["text_encoder"], encoders["vocabulary"], names,
                                       template, encoders["manifest"]["max_sentence_length"])
        off_diagonal = np.where(np.eye(len(names), dtype=bool), -np.inf, similarity)
        first, second = np.unravel_index(np.argmax(off_diagonal), off_diagonal.shape)
        templates[template] = {
            "mean_cosine": float(similarity[~np.eye(len(names), dtype=bool)].mean()),
            "max_cosine": float(off_diagonal[first, second]),
            "closest_pair": [names[first], names[second]]}
        print(f"{template!r}: mean {templates[template]['mean_cosine']:.3f}, max "
              f"{templates[template]['max_cosine']:.3f} ({names[first]}, {names[second]})")
    write_result(_OUTPUT.value, {
        "benchmark": "name_separation", "pretrained_dir": _PRETRAINED_DIR.value,
        "pretrain": config.pretrain.to_dict(), "names": names, "templates": templates,
        "machine": platform.platform(), "command": " ".join(sys.argv)})


if __name__ == "__main__":
    app.run(main)
