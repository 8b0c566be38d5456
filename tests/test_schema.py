"""Story <-> SequenceExample round trips: pixels, text, labels and token ids survive exactly."""
import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.data import schema
from storyvis_tf.data.story import Story
from storyvis_tf.text.vocabulary import UNK_ID, Vocabulary


def _story(frames=None, annotations=None) -> Story:
    rng = np.random.default_rng(7)
    return Story(
        story_id="ep1/12",
        frames=rng.integers(0, 256, (3, 6, 6, 3), dtype=np.uint8) if frames is None else frames,
        sentences=["Pororo meets Crong.", "Crong dances — très bien!", "Loopy bakes a cake"],
        labels=np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], np.float32),
        sources=["ep1/12.png", "ep1/13.png", "ep1/14.png"],
        annotations=annotations or [{"x": 1.5}, {"names": ["Crong"]}, {}],
    )


@pytest.fixture
def vocabulary():
    return Vocabulary.from_sentences(["Pororo meets Crong", "Crong dances"])


def test_numpy_round_trip_is_exact(vocabulary):
    story = _story()
    restored = schema.example_to_story(schema.story_to_example(story, vocabulary, "pororo", "val"))
    assert restored.story_id == story.story_id
    np.testing.assert_array_equal(restored.frames, story.frames)
    assert restored.frames.dtype == np.uint8
    assert restored.sentences == story.sentences
    np.testing.assert_array_equal(restored.labels, story.labels)
    assert restored.sources == story.sources
    assert restored.annotations == story.annotations


def test_graph_parse_matches_story_and_vocabulary(vocabulary):
    story = _story()
    serialized = schema.story_to_example(story, vocabulary, "pororo", "val")
    parsed = tf.function(schema.parse_example)(tf.constant(serialized))
    np.testing.assert_array_equal(parsed["frames"].numpy(), story.frames)
    assert parsed["frames"].dtype == tf.uint8
    assert [s.decode() for s in parsed["sentences"].numpy()] == story.sentences
    np.testing.assert_array_equal(parsed["labels"].numpy(), story.labels)
    assert parsed["token_ids"].to_list() == [vocabulary.encode(s) for s in story.sentences]
    assert [parsed[k].numpy().decode() for k in ("story_id", "dataset", "split")] == [
        "ep1/12", "pororo", "val"]
    assert [s.decode() for s in parsed["sources"].numpy()] == story.sources


def test_out_of_vocabulary_words_become_unk(vocabulary):
    parsed = schema.parse_example(schema.story_to_example(_story(), vocabulary, "pororo", "test"))
    crong = vocabulary.encode("crong")[0]
    # "Crong dances — très bien!": crong, dances known; très, bien unknown.
    assert parsed["token_ids"][1].numpy().tolist() == [crong, vocabulary.encode("dances")[0],
                                                       UNK_ID, UNK_ID]
    assert parsed["token_ids"][2].numpy().tolist() == [UNK_ID] * 4


def test_png_is_lossless_at_the_extremes(vocabulary):
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    frames[:, ::2] = 255
    frames[1, 1, 1] = (1, 254, 128)
    serialized = schema.story_to_example(_story(frames=frames), vocabulary, "pororo", "train")
    np.testing.assert_array_equal(schema.example_to_story(serialized).frames, frames)


def test_unserialisable_annotation_names_story_and_frame(vocabulary):
    story = _story(annotations=[{}, {"seen": {"Crong"}}, {}])
    with pytest.raises(ValueError, match=r"story ep1/12: annotation of frame 1 is not JSON"):
        schema.story_to_example(story, vocabulary, "pororo", "train")


def test_non_square_frames_are_refused(vocabulary):
    story = _story(frames=np.zeros((3, 4, 6, 3), np.uint8))
    with pytest.raises(ValueError, match=r"story ep1/12: frames are 4x6"):
        schema.story_to_example(story, vocabulary, "pororo", "train")


def test_shard_paths_follow_beam_naming():
    assert schema.shard_paths("out", "val", 2) == ["out/val/val-00000-of-00002.tfrecord",
                                                   "out/val/val-00001-of-00002.tfrecord"]
