"""Draw your own story with an exported generator: its frames under their sentences, as a PNG.

  python -m pipelines.generate --model=runs/export/1 \\
      --story="Pororo is in the forest.|Crong comes.|..." [--seed=0] --output=story.png
  python -m pipelines.generate --model=runs/export/1 --stories_file=stories.txt --output=s.png
  ... --relations=heat_maps/   (BWSA models: the relation matrices of the paper's Fig. 5)

A story is its sentences separated by '|', one per frame; the model takes exactly the number of
frames it was trained on. --stories_file holds one story per line. See storyvis_tf.generation.
"""
from absl import app, flags

from pipelines import cli
from storyvis_tf.generation import (StoryInputError, check_request, generate, parse_story,
                                    read_stories_file)

_MODEL = flags.DEFINE_string("model", None, "An exported version directory, EXPORT/<version>.")
_STORY = flags.DEFINE_string("story", None, "One story: its sentences separated by '|'.")
_STORIES_FILE = flags.DEFINE_string("stories_file", None,
                                    "A text file of stories, one per line, sentences separated "
                                    "by '|'.")
_SEED = flags.DEFINE_integer("seed", 0, "Noise seed; story i of the request gets seed + i.")
_OUTPUT = flags.DEFINE_string("output", None, "The PNG to write: one row per story.")
_RELATIONS = flags.DEFINE_string("relations", "",
                                 "Directory for the BWSA relation heat maps, "
                                 "story<s>_frame<t>.png (BWSA models only).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Stories generated per call.")


@cli.one_line_errors
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name, flag in (("model", _MODEL), ("output", _OUTPUT)):
        if not flag.value:
            raise app.UsageError(f"--{name} is required")
    if (_STORY.value is None) == (_STORIES_FILE.value is None):
        raise app.UsageError("give exactly one of --story and --stories_file")
    if _BATCH_SIZE.value < 1:
        raise app.UsageError(f"--batch_size must be >= 1, got {_BATCH_SIZE.value}")
    try:
        manifest = check_request(_MODEL.value, _OUTPUT.value, _RELATIONS.value)
        frames = manifest["frames_per_story"]
        stories = ([parse_story(_STORY.value, frames, "--story")] if _STORY.value is not None
                   else read_stories_file(_STORIES_FILE.value, frames))
    except StoryInputError as error:
        cli.fail(str(error))
    for path in generate(_MODEL.value, stories, _SEED.value, _OUTPUT.value, _RELATIONS.value,
                         _BATCH_SIZE.value):
        print(f"wrote {path}")


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
