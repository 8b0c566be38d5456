"""What a valid story request is, checked before it joins a batch (one bad story must not fail the
batch it would share with others), with a message saying what is wrong (stories and sentences
counted from 1, as the story page numbers its frames).

`story_inputs(inputs, manifest, max_stories)` takes the decoded inputs of the export's signature,
`sentences` (bytes [stories, frames]) and `seed` (int64, scalar or [stories]), and returns them
with `seed` as one seed per story ([stories]: a scalar seed s gives story b the seed s + b, the
export's own rule, so a story's frames do not depend on the batch it runs in). It refuses, as
INVALID_ARGUMENT: sentences that are not [stories, frames_per_story]; no stories, or more than
`max_stories`; a sentence that is not UTF-8, has no words, or has more words than the model
reads (the manifest's max_sentence_length; the export would silently cut them); a seed of
another shape.
"""
import numpy as np

from storyvis_tf.serving.errors import invalid_argument
from storyvis_tf.text.vocabulary import tokenize


def story_inputs(inputs: dict[str, np.ndarray], manifest: dict,
                 max_stories: int) -> dict[str, np.ndarray]:
    """The checked inputs with one seed per story (see the module docstring)."""
    sentences, seed = inputs["sentences"], inputs["seed"]
    frames = manifest["frames_per_story"]
    if sentences.ndim != 2:
        raise invalid_argument(f"sentences must be a list of stories, each a list of {frames} "
                               f"sentences (shape [stories, {frames}]); got shape "
                               f"{list(sentences.shape)}")
    stories = sentences.shape[0]
    if not 1 <= stories <= max_stories:
        raise invalid_argument(f"a request holds 1 to {max_stories} stories "
                               f"(--max_stories_per_request); this one holds {stories}")
    if sentences.shape[1] != frames:
        raise invalid_argument(f"each story needs {frames} sentences, one per frame "
                               f"(frames_per_story of this model); got {sentences.shape[1]}")
    for (story, frame), sentence in np.ndenumerate(sentences):
        _check_sentence(sentence, f"sentence {frame + 1} of story {story + 1}",
                        manifest["max_sentence_length"])
    if seed.ndim == 0:
        seed = seed + np.arange(stories, dtype=np.int64)
    elif seed.shape != (stories,):
        raise invalid_argument(f"seed must be one integer, or one per story (shape [{stories}]); "
                               f"got shape {list(seed.shape)}")
    return {"sentences": sentences, "seed": seed.astype(np.int64)}


def _check_sentence(sentence: bytes, where: str, max_words: int) -> None:
    try:
        words = len(tokenize(sentence.decode("utf-8")))
    except UnicodeDecodeError:
        raise invalid_argument(f"{where} is not UTF-8 text") from None
    if not words:
        raise invalid_argument(f"{where} is empty (no words): every frame needs a sentence")
    if words > max_words:
        raise invalid_argument(f"{where} has {words} words; this model reads at most {max_words} "
                               "(its max_sentence_length): shorten it")
