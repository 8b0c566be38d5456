"""The tf.data loader over a hand-written preprocessed directory."""
import json

import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.data import schema
from storyvis_tf.data.errors import DatasetFormatError
from storyvis_tf.data.loader import load_dataset, load_vocabulary, read_manifest
from storyvis_tf.data.story import Story
from storyvis_tf.text.vocabulary import PAD_ID, Vocabulary

NUM_STORIES, FRAMES, SIZE, SHARDS = 7, 2, 4, 3
WORDS = "one two three four five six".split()


def _story(i: int) -> Story:
    """Story i: frame 0 is black, frame 1 white with pixel (0, 0) = i; sentence t has i + t + 1
    words (so some are longer than the manifest's L = 4 and some shorter)."""
    frames = np.zeros((FRAMES, SIZE, SIZE, 3), np.uint8)
    frames[1] = 255
    frames[1, 0, 0] = i
    sentences = [" ".join(WORDS[j % len(WORDS)] for j in range(i + t + 1)) for t in range(FRAMES)]
    labels = np.array([[i % 2, 1, 0], [0, 0, 1]], np.float32)
    return Story(f"s{i}", frames, sentences, labels, ["src"] * FRAMES, [{}] * FRAMES)


def _write_dir(directory, compression="none"):
    vocabulary = Vocabulary.from_sentences(WORDS)
    vocabulary.save(str(directory / "vocab.txt"))
    paths = schema.shard_paths(str(directory), "train", SHARDS)
    (directory / "train").mkdir()
    options = tf.io.TFRecordOptions(compression_type={"none": "", "gzip": "GZIP"}[compression])
    writers = [tf.io.TFRecordWriter(path, options) for path in paths]
    for i in range(NUM_STORIES):
        writers[i % SHARDS].write(schema.story_to_example(_story(i), vocabulary, "toy", "train"))
    for writer in writers:
        writer.close()
    manifest = {"dataset": "toy", "image_size": SIZE, "frames_per_story": FRAMES,
                "splits": {"train": NUM_STORIES}, "vocab_size": len(vocabulary),
                "vocab_sha256": vocabulary.sha256(), "max_sentence_length": 4,
                "label_names": ["a", "b", "c"], "num_shards": SHARDS, "compression": compression}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


@pytest.fixture
def preprocessed(tmp_path):
    return _write_dir(tmp_path)


def _story_ids(dataset) -> list[bytes]:
    return [sid for batch in dataset for sid in batch["story_id"].numpy()]


def test_shapes_and_dtypes(preprocessed):
    batches = list(load_dataset(str(preprocessed), "train", 3))
    assert [b["images"].shape[0] for b in batches] == [3, 3, 1]
    batch = batches[0]
    assert batch["images"].shape == (3, FRAMES, SIZE, SIZE, 3)
    assert batch["images"].dtype == tf.float32
    assert batch["token_ids"].shape == (3, FRAMES, 4) and batch["token_ids"].dtype == tf.int32
    assert batch["labels"].shape == (3, FRAMES, 3) and batch["labels"].dtype == tf.float32
    assert batch["sentences"].shape == (3, FRAMES) and batch["sentences"].dtype == tf.string
    assert batch["story_id"].shape == (3,) and batch["story_id"].dtype == tf.string


def test_drop_remainder_gives_static_batch_shapes(preprocessed):
    dataset = load_dataset(str(preprocessed), "train", 3, drop_remainder=True)
    assert dataset.element_spec["images"].shape == (3, FRAMES, SIZE, SIZE, 3)
    assert dataset.element_spec["token_ids"].shape == (3, FRAMES, 4)
    assert len(list(dataset)) == NUM_STORIES // 3


def test_values_match_the_stories(preprocessed):
    for batch in load_dataset(str(preprocessed), "train", 4):
        for row, story_id in enumerate(batch["story_id"].numpy()):
            story = _story(int(story_id.decode()[1:]))
            images = batch["images"][row].numpy()
            np.testing.assert_allclose(images, story.frames / 127.5 - 1.0, atol=1e-6)
            assert images[0].min() == -1.0 and images[1, 1, 1].max() == 1.0
            np.testing.assert_array_equal(batch["labels"][row].numpy(), story.labels)
            assert [s.decode() for s in batch["sentences"][row].numpy()] == story.sentences


def test_sentences_are_padded_and_truncated(preprocessed):
    vocabulary = Vocabulary.from_sentences(WORDS)
    for length in (None, 8):
        batches = load_dataset(str(preprocessed), "train", NUM_STORIES, max_sentence_length=length)
        batch = next(iter(batches))
        width = 4 if length is None else length
        for row, story_id in enumerate(batch["story_id"].numpy()):
            for t, sentence in enumerate(_story(int(story_id.decode()[1:])).sentences):
                ids = vocabulary.encode(sentence)[:width]
                expected = ids + [PAD_ID] * (width - len(ids))
                assert batch["token_ids"][row, t].numpy().tolist() == expected


def test_order_is_deterministic_and_complete(preprocessed):
    plain = _story_ids(load_dataset(str(preprocessed), "train", 2))
    assert plain == _story_ids(load_dataset(str(preprocessed), "train", 2))
    assert sorted(plain) == sorted(f"s{i}".encode() for i in range(NUM_STORIES))
    shuffled = [_story_ids(load_dataset(str(preprocessed), "train", 2, shuffle=True, seed=3))
                for _ in range(2)]
    assert shuffled[0] == shuffled[1] and sorted(shuffled[0]) == sorted(plain)
    assert shuffled[0] != plain


def test_repeat_cycles_through_the_split(preprocessed):
    dataset = load_dataset(str(preprocessed), "train", NUM_STORIES, repeat=True)
    first, second = (sorted(batch["story_id"].numpy()) for batch in dataset.take(2))
    assert first == second and len(set(first)) == NUM_STORIES


def test_gzip_shards_are_read(tmp_path):
    directory = _write_dir(tmp_path, compression="gzip")
    assert len(_story_ids(load_dataset(str(directory), "train", 4))) == NUM_STORIES


def test_missing_or_broken_manifest_names_the_file(tmp_path):
    path = tmp_path / "manifest.json"
    with pytest.raises(DatasetFormatError, match=f"{path} not found"):
        read_manifest(str(tmp_path))
    path.write_text("{not json")
    with pytest.raises(DatasetFormatError, match=f"{path} is not valid JSON"):
        read_manifest(str(tmp_path))
    path.write_text(json.dumps({"dataset": "toy", "image_size": 4}))
    with pytest.raises(DatasetFormatError, match=f"{path} lacks the fields frames_per_story"):
        load_dataset(str(tmp_path), "train", 2)


def test_unknown_split_and_missing_shard_are_reported(preprocessed):
    with pytest.raises(ValueError, match=r"split 'val' is not in .*\(splits: train\)"):
        load_dataset(str(preprocessed), "val", 2)
    missing = schema.shard_paths(str(preprocessed), "train", SHARDS)[1]
    (preprocessed / "train" / missing.rsplit("/", 1)[1]).unlink()
    with pytest.raises(DatasetFormatError, match=f"shards listed by the manifest are missing: "
                                                 f"{missing}"):
        load_dataset(str(preprocessed), "train", 2)


def test_vocabulary_is_checked_against_the_manifest(preprocessed):
    assert load_vocabulary(str(preprocessed)).words == Vocabulary.from_sentences(WORDS).words
    Vocabulary.from_sentences(["other words"]).save(str(preprocessed / "vocab.txt"))
    with pytest.raises(DatasetFormatError, match=r"vocab\.txt does not match vocab_sha256"):
        load_vocabulary(str(preprocessed))
