"""What the story page at `/` needs beyond the REST API: the newest version's sizes and example
stories (`page_settings`), served as /story_page.json.

Examples come from a JSON file (`--examples`: a list of stories, each a list of frames_per_story
sentences), else, for a model trained on the embedded synthetic dataset, from the first stories
of that dataset's test split (sentences the model never trained on, in its vocabulary); a model
trained on another dataset without a file gets none (the page then offers typing only).
"""
import functools
import itertools

from storyvis_tf.data.readers.synthetic import SyntheticReader
from storyvis_tf.data.synthetic import MIN_IMAGE_SIZE
from storyvis_tf.json_files import read_json
from storyvis_tf.serving.model_repository import ModelRepository

SYNTHETIC_EXAMPLES = 6


def page_settings(repository: ModelRepository, examples_file: str,
                  max_stories_per_request: int) -> dict:
    """{model_name, version, frames_per_story, image_size, max_sentence_length,
    max_stories_per_request, examples} of the newest version; NOT_FOUND when none is served."""
    version, model = repository.servable(None)
    manifest = model.manifest
    frames = manifest["frames_per_story"]
    return {"model_name": repository.name, "version": version, "frames_per_story": frames,
            "image_size": manifest["image_size"],
            "max_sentence_length": manifest["max_sentence_length"],
            "max_stories_per_request": max_stories_per_request,
            "examples": (file_examples(examples_file, frames) if examples_file
                         else synthetic_examples(frames)
                         if manifest["config"]["data"]["dataset"] == "synthetic" else [])}


@functools.cache
def file_examples(path: str, frames: int) -> list[list[str]]:
    """The stories of an examples file; ValueError naming the file when one is malformed."""
    stories = read_json(path)
    if not isinstance(stories, list) or not all(
            isinstance(story, list) and len(story) == frames
            and all(isinstance(s, str) and s.strip() for s in story) for story in stories):
        raise ValueError(f"{path}: an examples file is a JSON list of stories, each a list of "
                         f"{frames} non-empty sentences (frames_per_story of the served model)")
    return stories


@functools.cache
def synthetic_examples(frames: int) -> list[list[str]]:
    """The sentences of the synthetic test split's first stories ([] if its stories have
    another number of frames than the model)."""
    reader = SyntheticReader("", image_size=MIN_IMAGE_SIZE,
                             num_stories={"train": 1, "val": 1, "test": SYNTHETIC_EXAMPLES})
    if reader.frames_per_story != frames:
        return []
    return [reader.load_story(ref).sentences
            for ref in itertools.islice(reader.story_refs("test"), SYNTHETIC_EXAMPLES)]
