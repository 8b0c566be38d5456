"""A user's own stories through an exported generator (`python -m pipelines.generate`): the
stories read and checked against the model, the frames drawn under their sentences, and, for a
BWSA generator, the relation matrices of the main paper's Fig. 5 as heat maps.

A story is one line of sentences separated by `|`, one sentence per frame; the model takes
exactly its `frames_per_story` (the export manifest's). Story i of a request gets the seed
seed + i, as the serving signature gives a scalar seed, so a story's pictures depend only on
its sentences, its place in the request and the seed.
"""
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from storyvis_tf.evaluation.evaluator import generate_stories
from storyvis_tf.export.savedmodel import (RELATIONS_SIGNATURE_KEY, load_export,
                                           read_export_manifest)
from storyvis_tf.text.vocabulary import UNK_ID
from storyvis_tf.visualization import relation_heat_maps, story_grid

SENTENCE_SEPARATOR = "|"


class StoryInputError(ValueError):
    """A story, file or option the exported model cannot take; raised before any generation."""


def parse_story(text: str, frames: int, where: str) -> list[str]:
    """The sentences of `text` ("sentence 1|sentence 2|..."), stripped.

    Raises StoryInputError, naming `where` (e.g. "--story", "stories.txt line 3"), when the story
    does not have `frames` sentences or one of them is empty.
    """
    sentences = [sentence.strip() for sentence in text.split(SENTENCE_SEPARATOR)]
    if len(sentences) != frames:
        raise StoryInputError(
            f"{where}: {len(sentences)} sentence{'s' * (len(sentences) != 1)}, but the model "
            f"takes {frames} (frames_per_story), separated by '{SENTENCE_SEPARATOR}'")
    empty = [i + 1 for i, sentence in enumerate(sentences) if not sentence]
    if empty:
        raise StoryInputError(f"{where}: sentence {empty[0]} is empty")
    return sentences


def read_stories_file(path: str, frames: int) -> list[list[str]]:
    """The stories of a text file, one per line (blank lines skipped); StoryInputError naming
    the file and line of the first bad story, or a file without stories."""
    if not os.path.isfile(path):
        raise StoryInputError(f"--stories_file {path} does not exist")
    with open(path, encoding="utf-8") as f:
        stories = [parse_story(line, frames, f"{path} line {number}")
                   for number, line in enumerate(f, start=1) if line.strip()]
    if not stories:
        raise StoryInputError(f"--stories_file {path} holds no story")
    return stories


def check_relations_available(manifest: dict, model_dir: str) -> None:
    """StoryInputError unless the export carries the `relations` signature (a BWSA generator
    exported by this version of pipelines.export)."""
    attention = manifest["config"]["generator"]["attention"]
    if attention != "bwsa":
        raise StoryInputError(
            f"--relations: the generator in {model_dir} has generator.attention={attention!r}; "
            "relation matrices exist only for BWSA (generator.attention='bwsa')")
    if not manifest.get("relations_signature"):
        raise StoryInputError(f"--relations: {model_dir} was exported without the relations "
                              "signature; export its run again with `python -m pipelines.export`")


def check_request(model_dir: str, output: str, relations_dir: str = "") -> dict:
    """The export manifest of `model_dir`, after checking that `output` can be written as a PNG
    and, when `relations_dir` is given, that the model has relation matrices; StoryInputError
    naming the flag otherwise."""
    try:
        manifest = read_export_manifest(model_dir)
    except (FileNotFoundError, ValueError) as error:
        raise StoryInputError(f"--model: {error}") from None
    if not output.lower().endswith(".png"):
        raise StoryInputError(f"--output {output} must be a .png file")
    if os.path.isdir(output):
        raise StoryInputError(f"--output {output} is a directory; give a .png file")
    if relations_dir:
        check_relations_available(manifest, model_dir)
        if os.path.exists(relations_dir) and not os.path.isdir(relations_dir):
            raise StoryInputError(f"--relations {relations_dir} exists and is not a directory")
    return manifest


def generate(model_dir: str, stories: list[list[str]], seed: int, output: str,
             relations_dir: str = "", batch_size: int = 16) -> list[str]:
    """Draws `stories` (checked: `parse_story`, `check_request`) with the export in `model_dir`:
    OUTPUT, one row per story with each frame above its sentence, and, with `relations_dir`,
    the heat maps of `write_relation_heat_maps`. Story i gets the seed seed + i. Returns the
    paths written."""
    model, _ = load_export(model_dir)
    seeds = seed + np.arange(len(stories), dtype=np.int64)
    if relations_dir:
        maps = relation_maps(model, stories, seeds, batch_size)
        images = maps["images"]
    else:
        images = generate_stories(model, np.array(stories, dtype=object), seeds, batch_size,
                                  verbose=False)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    Image.fromarray(story_grid(images, stories)).save(output)
    return [output, *(write_relation_heat_maps(relations_dir, maps) if relations_dir else [])]


def relation_maps(model, stories: list[list[str]], seeds: np.ndarray, batch_size: int) -> dict:
    """The `relations` signature's outputs for `stories` (story i with seeds[i]) as NumPy arrays
    concatenated over batches: "images", "words" (str), "token_ids", "relations_<r>"."""
    serve = model.signatures[RELATIONS_SIGNATURE_KEY]
    parts = {}
    for start in range(0, len(stories), batch_size):
        rows = slice(start, start + batch_size)
        outputs = serve(sentences=tf.constant(stories[rows]),
                        seed=tf.constant(seeds[rows], tf.int64))
        for name, value in outputs.items():
            parts.setdefault(name, []).append(value.numpy())
    maps = {name: np.concatenate(values) for name, values in parts.items()}
    maps["words"] = np.vectorize(lambda word: word.decode("utf-8"), otypes=[str])(maps["words"])
    return maps


def write_relation_heat_maps(directory: str, maps: dict) -> list[str]:
    """Writes DIRECTORY/story<s>_frame<t>.png (1-based) from `relation_maps`' output: each frame
    with one heat map per word it reads and per BWSA stage (`visualization.relation_heat_maps`;
    a word outside the vocabulary is captioned "<word> (unknown)"). Returns the paths."""
    os.makedirs(directory, exist_ok=True)
    resolutions = sorted(int(name.split("_")[1]) for name in maps if name.startswith("relations_"))
    paths = []
    stories, frames = maps["images"].shape[:2]
    for s in range(stories):
        for t in range(frames):
            read = maps["words"][s, t] != ""
            words = [f"{word} (unknown)" if token_id == UNK_ID else word
                     for word, token_id in zip(maps["words"][s, t][read],
                                               maps["token_ids"][s, t][read])]
            picture = relation_heat_maps(
                maps["images"][s, t], {r: maps[f"relations_{r}"][s, t][read] for r in resolutions},
                words)
            paths.append(os.path.join(directory, f"story{s + 1}_frame{t + 1}.png"))
            Image.fromarray(picture).save(paths[-1])
    return paths
