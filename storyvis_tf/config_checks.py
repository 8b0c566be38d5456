"""Checks of an experiment config made before any work, with one-line errors that name the key.

  unknown_key_message(config, dotted)     None when `dotted` ("train.epochs") is a key of
                                          `config`, else "... did you mean train.epochs?"
  check_image_size(image_size, source)    ValueError unless a power of two >= 8 (what the
                                          GAN's networks are built for)
  take_data_shape(config, manifest, keep) data.image_size, frames_per_story and
                                          max_sentence_length from the preprocessed data's
                                          manifest, except the keys in `keep`
"""
import difflib

import ml_collections

from storyvis_tf.models.image_size import doublings_from_4x4

# The config's data keys a preprocessed directory fixes.
DATA_SHAPE_KEYS = ("image_size", "frames_per_story", "max_sentence_length")


def unknown_key_message(config: ml_collections.ConfigDict, dotted: str) -> str | None:
    """None when every part of `dotted` names a field of `config`; otherwise one line naming
    the first unknown part and the nearest valid key at that level (difflib)."""
    node, parts = config, dotted.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, ml_collections.ConfigDict):
            return (f"config key {dotted!r}: {'.'.join(parts[:depth])} is a value, it has no "
                    f"field {part!r}")
        if part not in node:
            prefix = ".".join(parts[:depth] + [""])
            nearest = difflib.get_close_matches(part, list(node.keys()), n=1, cutoff=0.5)
            hint = (f"; did you mean {prefix}{nearest[0]}?" if nearest
                    else f"; the keys there: {', '.join(sorted(node.keys()))}")
            return f"unknown config key {dotted!r}{hint}"
        node = node[part]
    return None


def check_image_size(image_size: int, source: str) -> None:
    """ValueError "SOURCE: data.image_size must be a power of two >= 8, got N" otherwise."""
    try:
        doublings_from_4x4(image_size)
    except ValueError as error:
        raise ValueError(f"{source}: {error} (the generator and discriminator grow from 4x4 "
                         "features by factors of two)") from None


def take_data_shape(config: ml_collections.ConfigDict, manifest: dict,
                    keep: set[str] = frozenset()) -> list[str]:
    """Sets config.data.{image_size, frames_per_story, max_sentence_length} to the preprocessed
    data's values (its manifest), except the keys named in `keep` ("data.image_size", ...: what
    the user chose). Returns "data.KEY: OLD -> NEW" for each value changed.

    Why: the data fixes the frames the networks are built for; a CLEVR-SV directory has 4 frames
    per story where the default config says 5, and a kept value that differs is refused later
    by the stage's own check, naming both.
    """
    changed = []
    for key in DATA_SHAPE_KEYS:
        if f"data.{key}" in keep or config.data[key] == manifest[key]:
            continue
        changed.append(f"data.{key}: {config.data[key]} -> {manifest[key]}")
        config.data[key] = manifest[key]
    return changed
