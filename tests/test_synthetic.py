"""The embedded synthetic dataset: reproducible stories whose sentences, labels, annotations and
pixels agree."""
import collections
import json
import pickle

import numpy as np
import pytest

from storyvis_tf.data import synthetic
from storyvis_tf.data.readers import make_reader
from storyvis_tf.data.readers.synthetic import SyntheticReader
from storyvis_tf.data.story import StoryRef
from storyvis_tf.text.vocabulary import tokenize

SIZES = {"train": 300, "val": 20, "test": 20}


@pytest.fixture(scope="module")
def reader():
    return SyntheticReader("", num_stories=SIZES)


@pytest.fixture(scope="module")
def stories(reader):
    return [reader.load_story(ref) for ref in reader.story_refs("train")]


def _names(sentence):
    names = {n.lower(): i for i, n in enumerate(synthetic.CHARACTER_NAMES)}
    return {names[w] for w in tokenize(sentence) if w in names}


def test_registry_builds_a_picklable_reader():
    reader = make_reader("synthetic", "/nonexistent", num_stories={"train": 2, "val": 1, "test": 1})
    assert reader.label_names == ("Pip", "Kiki", "Bruno", "Zara", "Momo", "Tiko", "Lulu", "Rex",
                                  "Nova")
    ref = next(reader.story_refs("val"))
    clone = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(clone.load_story(ref).frames, reader.load_story(ref).frames)


def test_default_sizes_come_from_the_config():
    reader = SyntheticReader("")
    assert reader.num_stories == {"train": 2000, "val": 200, "test": 200}


def test_refs_are_cheap_unique_and_disjoint_across_splits(reader):
    refs = {split: list(reader.story_refs(split)) for split in ("train", "val", "test")}
    assert [len(refs[s]) for s in ("train", "val", "test")] == [300, 20, 20]
    assert refs["val"][3] == StoryRef("synthetic", "val", "val-000003",
                                      {"seed": reader.story_seed("val", 3)})
    ids = [r.story_id for rs in refs.values() for r in rs]
    seeds = [r.payload["seed"] for rs in refs.values() for r in rs]
    assert len(set(ids)) == len(ids) and len(set(seeds)) == len(seeds)
    json.dumps([r.payload for r in refs["test"]])


def test_same_seed_same_story_different_seed_different_story(reader):
    ref = next(reader.story_refs("test"))
    a, b = reader.load_story(ref), SyntheticReader("", num_stories=SIZES).load_story(ref)
    np.testing.assert_array_equal(a.frames, b.frames)
    assert a.sentences == b.sentences and a.annotations == b.annotations
    other = SyntheticReader("", seed=1, num_stories=SIZES).load_story(
        next(SyntheticReader("", seed=1, num_stories=SIZES).story_refs("test")))
    assert not np.array_equal(a.frames, other.frames)
    assert a.sentences != other.sentences


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_dtypes_and_sources(size):
    reader = SyntheticReader("", image_size=size, num_stories=SIZES)
    ref = next(reader.story_refs("train"))
    story = reader.load_story(ref)
    assert story.frames.shape == (5, size, size, 3) and story.frames.dtype == np.uint8
    assert story.labels.shape == (5, 9) and story.labels.dtype == np.float32
    assert set(np.unique(story.labels)) <= {0.0, 1.0}
    assert story.sources == [f"synthetic:train-000000/{t}" for t in range(5)]
    assert story.story_id == "train-000000"


def test_labels_agree_with_sentences_and_annotations(stories):
    for story in stories[:50]:
        for t, (sentence, annotation) in enumerate(zip(story.sentences, story.annotations)):
            present = set(np.flatnonzero(story.labels[t]))
            assert present, f"{story.story_id}/{t}: empty frame"
            assert _names(sentence) == present, (story.story_id, sentence)
            assert {c["index"] for c in annotation["characters"]} == present
            for c in annotation["characters"]:
                assert synthetic.CHARACTER_NAMES[c["index"]] == c["name"]
            slots = [c["position"] for c in annotation["characters"]]
            assert len(set(slots)) == len(slots)


def test_sentences_fit_the_loader_and_keep_a_modest_vocabulary(stories):
    words = collections.Counter(w for s in stories for x in s.sentences for w in tokenize(x))
    assert max(len(tokenize(x)) for s in stories for x in s.sentences) <= 24
    assert 40 < len(words) < 300
    assert all(x[0].isupper() and x.endswith(".") for s in stories for x in s.sentences)


def test_whole_cast_and_every_slot_action_and_scene_occur(stories):
    labels = np.concatenate([s.labels for s in stories])
    assert labels.sum(axis=0).min() > 0
    seen = collections.defaultdict(set)
    for s in stories:
        for a in s.annotations:
            seen["background"].add(a["background"])
            for c in a["characters"]:
                for key in ("position", "depth", "action"):
                    seen[key].add(c[key])
    assert seen == {"background": set(synthetic.BACKGROUNDS), "position": set(synthetic.POSITIONS),
                    "depth": set(synthetic.DEPTHS), "action": set(synthetic.ACTIONS)}


def test_cast_recurs_within_a_story(stories):
    cast_sizes = [int(s.labels.max(axis=0).sum()) for s in stories]
    assert set(cast_sizes) == {1, 2, 3}
    per_frame = np.concatenate([s.labels.sum(axis=1) for s in stories])
    assert per_frame.min() >= 1 and per_frame.max() <= 3


def test_background_is_constant_outside_the_characters(stories):
    for story in stories[:50]:
        assert len({a["background"] for a in story.annotations}) == 1
        size = story.frames.shape[1]
        free = np.ones((size, size), bool)
        for a in story.annotations:
            for c in a["characters"]:
                x0, y0, x1, y1 = c["box"]
                # the shadow lies below the sprite, on the ground under a jumper
                free[max(0, y0 - 1):y1 + size // 6, max(0, x0 - 1):x1 + 1] = False
        assert free.mean() > 0.3
        np.testing.assert_array_equal(story.frames[:, free], story.frames[:1, free].repeat(5, 0))


def test_boxes_lie_in_the_frame_and_far_is_smaller(stories):
    heights = collections.defaultdict(list)
    for story in stories:
        size = story.frames.shape[1]
        for a in story.annotations:
            for c in a["characters"]:
                x0, y0, x1, y1 = c["box"]
                assert 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size, c
                if c["action"] == "standing":
                    heights[c["depth"]].append(y1 - y0)
    assert max(heights["far"]) < min(heights["near"])


@pytest.mark.parametrize("size", [32, 64, 256])
def test_each_character_wears_its_own_colour_and_nothing_leaks_outside_its_box(size):
    scene = synthetic.render_scene("snow", size, np.random.default_rng(0))
    colours = np.array([c.colour for c in synthetic.CAST])
    for i, character in enumerate(synthetic.CAST):
        placement = synthetic.Placement(i, "middle", "near", "standing")
        frame = synthetic.render_frame((placement,), scene)
        x0, y0, x1, y1 = synthetic.character_box(placement, size)
        pixels = frame[y0:y1, x0:x1].reshape(-1, 1, 3).astype(int)
        share = (np.abs(pixels - colours).max(axis=-1) <= 12).mean(axis=0)
        others = np.delete(share, i)
        assert share[i] > 0.03 and share[i] > 3 * others.max(), (character.name, share)
        outside = np.ones((size, size), bool)
        outside[y0:y1 + size // 16, x0:x1] = False   # the sprite and its shadow
        np.testing.assert_array_equal(frame[outside], np.rint(scene[outside]).astype(np.uint8))


def test_jumping_lifts_and_sleeping_lies_down():
    stand, jump, sleep = (synthetic.character_box(synthetic.Placement(0, "left", "near", a), 64)
                          for a in ("standing", "jumping", "sleeping"))
    assert jump[3] < stand[3] and jump[3] - jump[1] == stand[3] - stand[1]
    assert sleep[2] - sleep[0] > sleep[3] - sleep[1] and sleep[3] == stand[3]


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": 40}, "multiple of 16"),
    ({"image_size": 16}, "at least 32"),
    ({"num_stories": {"train": 0, "val": 1, "test": 1}}, r"num_stories\['train'\]"),
    ({"num_stories": {"train": 1, "val": 1}}, "each of"),
    ({"seed": -1}, "seed"),
    ({"train_frame_choice": "last"}, "train_frame_choice"),
    ({"frames_per_story": 0}, "frames_per_story"),
])
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SyntheticReader("", **kwargs)


def test_unknown_split_is_named(reader):
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        next(reader.story_refs("dev"))


def test_one_frame_stories_for_a_single_image_text_to_image_model(tmp_path):
    """data.frames_per_story = 1: the preprocessed embedded dataset holds one sentence and one
    frame per record, the data a single-image text-to-image GAN trains on."""
    from configs import smoke
    from storyvis_tf.data.loader import load_dataset
    from storyvis_tf.data.preprocess import run_preprocess

    config = smoke.get_config()
    config.data.frames_per_story = 1
    manifest = run_preprocess("synthetic", "", str(tmp_path / "data"), 32,
                              ["--direct_num_workers=1"], config=config)
    assert manifest["frames_per_story"] == 1
    batch = next(iter(load_dataset(str(tmp_path / "data"), "train", 2)))
    assert batch["images"].shape == (2, 1, 32, 32, 3) and batch["sentences"].shape == (2, 1)
