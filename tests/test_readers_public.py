"""The four public-release readers on format-exact fixtures (tests/public_fixtures.py)."""
import json
import os
import pickle

import numpy as np
import pytest

from storyvis_tf.data.errors import BadStoryError, DatasetFormatError
from storyvis_tf.data.readers import make_reader
from storyvis_tf.data.readers.abstract_scenes import AbstractScenesReader
from storyvis_tf.data.readers.clevr import ClevrReader
from storyvis_tf.data.readers.flintstones import FlintstonesReader
from storyvis_tf.data.readers.pororo import PororoReader
from tests import public_fixtures as fx

SIZE = 16
BUILDERS = {"pororo": fx.build_pororo, "flintstones": fx.build_flintstones,
            "clevr": fx.build_clevr, "abstract": fx.build_abstract}


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    """One clean fixture per dataset, shared by the tests that do not modify it."""
    return {name: build(str(tmp_path_factory.mktemp(name))) for name, build in BUILDERS.items()}


def story_ids(reader, split):
    return [ref.story_id for ref in reader.story_refs(split)]


def load(reader, story_id):
    for split in ("train", "val", "test"):
        for ref in reader.story_refs(split):
            if ref.story_id == story_id:
                return reader.load_story(ref)
    raise AssertionError(f"{story_id} not listed")


def assert_colours(frames, colours):
    assert frames.dtype == np.uint8 and frames.shape == (len(colours), SIZE, SIZE, 3)
    for frame, colour in zip(frames, colours):
        assert (frame == colour).all(), (frame[0, 0], colour)


# --- every reader ---------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", BUILDERS)
def test_refs_are_unique_json_and_reader_pickles(roots, dataset):
    reader = make_reader(dataset, roots[dataset], image_size=SIZE)
    refs = [ref for split in ("train", "val", "test") for ref in reader.story_refs(split)]
    assert len({ref.story_id for ref in refs}) == len(refs)
    for ref in refs:
        assert json.loads(json.dumps(ref.payload)) == ref.payload
    shipped = pickle.loads(pickle.dumps(reader))
    assert (shipped.load_story(refs[0]).frames == reader.load_story(refs[0]).frames).all()


@pytest.mark.parametrize("dataset", BUILDERS)
def test_unknown_split_and_missing_data_dir(roots, dataset, tmp_path):
    reader = make_reader(dataset, roots[dataset], image_size=SIZE)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        list(reader.story_refs("dev"))
    with pytest.raises(DatasetFormatError, match="no such directory"):
        make_reader(dataset, str(tmp_path / "absent"))


# --- Pororo-SV -------------------------------------------------------------------------------

def test_pororo_splits_keep_stored_row_order(roots):
    reader = PororoReader(roots["pororo"], image_size=SIZE)
    for split, rows in fx.PORORO_SPLIT_ROWS.items():
        assert story_ids(reader, split) == [fx.PORORO_ROWS[r] for r in rows]
    assert story_ids(reader, "test") == ["Pororo_ENGLISH1_2/Pororo_ENGLISH1_2_ep6/2",
                                         "Pororo_ENGLISH1_1/Pororo_ENGLISH1_1_ep1/6"]


def test_pororo_two_way_split_has_empty_val(tmp_path):
    reader = PororoReader(fx.build_pororo(str(tmp_path), split_file="train_test_ids.npy"))
    assert len(story_ids(reader, "train")) == 6
    assert story_ids(reader, "val") == []
    assert len(story_ids(reader, "test")) == 2


def test_pororo_rebuilds_caches_in_field_order(roots, tmp_path):
    cached = PororoReader(roots["pororo"])
    rebuilt = PororoReader(fx.build_pororo(str(tmp_path), caches=False))
    for split in ("train", "val", "test"):
        assert list(rebuilt.story_refs(split)) == list(cached.story_refs(split))
    # '10.png' sorts before '2.png', as in torchvision's ImageFolder: row 2 is clip 10.
    assert rebuilt._starts[:4] == list(fx.PORORO_ROWS[:4])


def test_pororo_story_middle_frames_labels_captions(roots):
    story = load(PororoReader(roots["pororo"], image_size=SIZE), fx.PORORO_ROWS[5])  # val
    episode = fx.PORORO_EPISODES[0]
    clips = [f"{episode}/{n}" for n in range(4, 9)]      # 1, 2 (RGBA), 3 (palette), 4, 1 stills
    assert [a["clip_frames"] for a in story.annotations] == [1, 2, 3, 4, 1]
    assert_colours(story.frames, [fx.pororo_colour(c, s) for c, s in zip(clips, [0, 1, 1, 2, 0])])
    assert story.labels.dtype == np.float32
    assert story.labels[0].tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert (story.labels == [fx.pororo_labels(c) for c in clips]).all()
    assert story.sentences == [f"pororo and crong play in clip {n}" for n in range(4, 9)]
    assert story.sources == [c + ".png" for c in clips]


def test_pororo_replacement_characters_become_a_space(roots):
    story = load(PororoReader(roots["pororo"], image_size=SIZE), fx.PORORO_VICTIM)
    assert story.sentences[1] == "loopy s cake is ready"


def test_pororo_frame_choice_first_and_seeded_random(roots):
    first = PororoReader(roots["pororo"], image_size=SIZE, train_frame_choice="first")
    story = load(first, fx.PORORO_VICTIM)
    clips = [f"{fx.PORORO_EPISODES[0]}/{n}" for n in range(2, 7)]
    assert_colours(story.frames, [fx.pororo_colour(c, 0) for c in clips])

    def train_stories(choice, seed):
        reader = PororoReader(roots["pororo"], image_size=SIZE, train_frame_choice=choice,
                              seed=seed)
        return [reader.load_story(ref) for ref in reader.story_refs("train")]

    random, again = train_stories("random", 0), train_stories("random", 0)
    middle = train_stories("middle", 0)
    for a, b in zip(random, again):
        assert (a.frames == b.frames).all() and a.sentences == b.sentences
    assert any((r.frames != m.frames).any() for r, m in zip(random, middle))
    assert any(r.sentences != m.sentences for r, m in zip(random, middle))
    other_seed = train_stories("random", 1)
    assert any((r.frames != o.frames).any() for r, o in zip(random, other_seed))


@pytest.mark.parametrize("defect, reason", [
    ("missing_image", "image file not found"),
    ("corrupt_image", "unreadable image"),
    ("not_a_strip", "expected a vertical strip of square frames"),
    ("missing_label", "no entry in labels.npy"),
    ("missing_description", "no entry in descriptions.npy"),
    ("empty_caption", "empty caption"),
    ("non_utf8_caption", "caption is not valid UTF-8"),
    ("wrong_label_shape", "entry has shape (8,): expected 9 binary values"),
    ("missing_followers", "following_cache4.npy row 3 has 2 of 4 followers"),
])
def test_pororo_bad_story(tmp_path, defect, reason):
    reader = PororoReader(fx.build_pororo(str(tmp_path), defect=defect), image_size=SIZE)
    with pytest.raises(BadStoryError) as error:
        load(reader, fx.PORORO_VICTIM)
    assert reason in error.value.reason
    assert load(reader, fx.PORORO_SAFE).frames.shape == (5, SIZE, SIZE, 3)


@pytest.mark.parametrize("removed, named", [
    (["labels.npy"], "labels.npy not found"),
    (["descriptions.npy"], "descriptions.npy not found"),
    (["train_seen_unseen_ids.npy"], "neither of train_seen_unseen_ids.npy, train_test_ids.npy"),
    (["img_cache4.npy", "frames_counter.npy"], "img_cache4.npy not found"),
    (["following_cache4.npy", "frames_counter.npy"], "following_cache4.npy not found"),
])
def test_pororo_missing_required_file(tmp_path, removed, named):
    root = fx.build_pororo(str(tmp_path))
    for name in removed:
        os.remove(os.path.join(root, name))
    with pytest.raises(DatasetFormatError, match=named) as error:
        PororoReader(root)
    assert "DATASETS.md §1" in str(error.value)


def test_pororo_inconsistent_files(tmp_path):
    root = fx.build_pororo(str(tmp_path))
    np.save(os.path.join(root, "following_cache4.npy"), np.array([[b"a.png"] * 4] * 3))
    with pytest.raises(DatasetFormatError, match=r"shape \(3, 4\), img_cache4.npy has 13 rows"):
        PororoReader(root)
    fx.build_pororo(str(tmp_path / "rows"))
    np.save(str(tmp_path / "rows" / "train_test_ids.npy"), fx._object_array([[0, 13], [1]]))
    os.remove(tmp_path / "rows" / "train_seen_unseen_ids.npy")
    with pytest.raises(DatasetFormatError, match="train row 13 is outside the 13 rows"):
        PororoReader(str(tmp_path / "rows"))
    np.save(os.path.join(root, "labels.npy"), np.zeros(3))
    with pytest.raises(DatasetFormatError, match="not a saved dict"):
        PororoReader(root)


# --- Flintstones-SV -------------------------------------------------------------------------

def test_flintstones_splits_keep_clips_with_followers(roots):
    reader = FlintstonesReader(roots["flintstones"], image_size=SIZE)
    ep11, ep12, ep21 = fx.FLINTSTONES_EP11, fx.FLINTSTONES_EP12, fx.FLINTSTONES_EP21
    assert story_ids(reader, "train") == [ep11[2], ep11[0]]
    assert story_ids(reader, "val") == [ep12[0]]
    assert story_ids(reader, "test") == [ep11[1], ep21[0]]


def test_flintstones_story_middle_frames_labels(roots):
    story = load(FlintstonesReader(roots["flintstones"], image_size=SIZE), fx.FLINTSTONES_SAFE)
    clips = fx.FLINTSTONES_EP12
    assert_colours(story.frames, [fx.flintstones_colour(c, 2) for c in clips])
    assert story.annotations[0]["characters"] == ["Gazoo", "Fred"]
    assert story.labels[0].tolist() == [0, 1, 0, 0, 0, 0, 0]
    assert story.annotations[1]["characters"] == ["Fred", "Wilma ", "barney"]
    assert story.labels[1].tolist() == [1, 1, 0, 1, 0, 0, 0]
    assert story.sentences[0] == "Gazoo and Fred talk in shot 000000_000099"
    assert story.sources[0] == f"video_frames_sampled/{clips[0]}.npy"


def test_flintstones_rebuilds_followers_and_labels_as_the_field(roots, tmp_path):
    stored = FlintstonesReader(roots["flintstones"], image_size=SIZE)
    derived = FlintstonesReader(fx.build_flintstones(str(tmp_path), caches=False), image_size=SIZE)
    for split in ("train", "val", "test"):
        assert list(derived.story_refs(split)) == list(stored.story_refs(split))
    assert (load(derived, fx.FLINTSTONES_VICTIM).labels
            == load(stored, fx.FLINTSTONES_VICTIM).labels).all()


def test_flintstones_end_of_list_clip_is_a_bad_story(roots):
    reader = FlintstonesReader(roots["flintstones"], image_size=SIZE)
    with pytest.raises(BadStoryError, match="has 0 of 4 followers"):
        load(reader, fx.FLINTSTONES_EP21[0])


def test_flintstones_random_frames_are_seeded(roots):
    def stills(seed):
        reader = FlintstonesReader(roots["flintstones"], train_frame_choice="random", seed=seed)
        return [a["clip_frame"] for ref in reader.story_refs("train")
                for a in reader.load_story(ref).annotations]

    assert stills(0) == stills(0)
    assert stills(0) != [2] * 10
    assert stills(0) != stills(1)


@pytest.mark.parametrize("defect, reason", [
    ("missing_image", "frames file not found"),
    ("corrupt_image", "unreadable npy"),
    ("wrong_shape", "frames array is uint8 (5, 128, 128): expected uint8 (5, 128, 128, 3)"),
    ("missing_label", "no entry in labels.pkl"),
    ("missing_description", "no entry in flintstones_annotations_v1-0.json"),
    ("empty_caption", "empty caption"),
    ("missing_followers", "has 3 of 4 followers"),
])
def test_flintstones_bad_story(tmp_path, defect, reason):
    reader = FlintstonesReader(fx.build_flintstones(str(tmp_path), defect=defect),
                               image_size=SIZE)
    with pytest.raises(BadStoryError) as error:
        load(reader, fx.FLINTSTONES_VICTIM)
    assert reason in error.value.reason
    assert load(reader, fx.FLINTSTONES_SAFE).frames.shape == (5, SIZE, SIZE, 3)


@pytest.mark.parametrize("removed", ["flintstones_annotations_v1-0.json",
                                     "train-val-test_split.json", "video_frames_sampled"])
def test_flintstones_missing_required_file(tmp_path, removed):
    root = fx.build_flintstones(str(tmp_path))
    path = os.path.join(root, removed)
    if os.path.isdir(path):
        for name in os.listdir(path):
            os.remove(os.path.join(path, name))
        os.rmdir(path)
    else:
        os.remove(path)
    with pytest.raises(DatasetFormatError, match=f"{removed} not found in .*DATASETS.md §2"):
        FlintstonesReader(root)


# --- CLEVR-SV -------------------------------------------------------------------------------

def test_clevr_splits_by_story_number(roots):
    reader = ClevrReader(roots["clevr"], image_size=SIZE)
    assert story_ids(reader, "train") == ["CLEVR_new_000003", "CLEVR_new_000007"]
    assert story_ids(reader, "test") == ["CLEVR_new_010000", "CLEVR_new_010001"]
    assert story_ids(reader, "val") == ["CLEVR_new_013000"]


def test_clevr_story_sentences_labels_frames(roots):
    story = load(ClevrReader(roots["clevr"], image_size=SIZE), "CLEVR_new_000003")
    assert story.sentences == [
        "there is a large gray rubber cube",
        "a small red metal sphere is to the left of the large gray rubber cube",
        "a large cyan rubber cylinder is behind the small red metal sphere",
        "a small yellow metal cube is in front of the large gray rubber cube",
    ]
    names = ClevrReader.label_names
    assert len(names) == 15
    shown = [["cube", "gray", "rubber", "large"], ["sphere", "red", "metal", "small"],
             ["cylinder", "cyan"], ["yellow"]]
    for k, labels in enumerate(story.labels):
        on = {n for added in shown[:k + 1] for n in added}
        assert labels.tolist() == [float(n in on) for n in names]
    assert_colours(story.frames, [fx.clevr_colour(3, k) for k in range(1, 5)])
    assert [len(a["objects"]) for a in story.annotations] == [1, 2, 3, 4]
    assert story.annotations[3]["objects"][3] == {
        "shape": "cube", "color": "yellow", "material": "metal", "size": "small",
        "coords": [1.0, -2.0, 0.35]}
    assert story.sources[0] == "CLEVR_new_000003_1.png"


def test_clevr_relations_follow_the_camera(roots):
    story = load(ClevrReader(roots["clevr"], image_size=SIZE), "CLEVR_new_000007")
    assert story.sentences[1:] == [
        "a large green metal cube is to the right of the small blue rubber sphere",
        "a small brown rubber cylinder is behind the small blue rubber sphere",
        "a large purple metal sphere is in front of the small blue rubber sphere",
    ]


@pytest.mark.parametrize("defect, reason", [
    ("missing_image", "image file not found"),
    ("corrupt_image", "unreadable image"),
    ("missing_entry", "no entry in CLEVR_dict.npy"),
    ("wrong_shape", "entry has shape (70,): expected (75,)"),
    ("bad_one_hot", "object 3 has no one-hot shape"),
])
def test_clevr_bad_story(tmp_path, defect, reason):
    reader = ClevrReader(fx.build_clevr(str(tmp_path), defect=defect), image_size=SIZE)
    with pytest.raises(BadStoryError) as error:
        load(reader, "CLEVR_new_000003")
    assert reason in error.value.reason
    assert load(reader, "CLEVR_new_000007").frames.shape == (4, SIZE, SIZE, 3)


def test_clevr_missing_or_foreign_files(tmp_path):
    root = fx.build_clevr(str(tmp_path))
    np.save(os.path.join(root, "CLEVR_dict.npy"), {"CLEVR_train_000001.png": np.zeros(75)})
    with pytest.raises(DatasetFormatError, match="has key 'CLEVR_train_000001.png'"):
        ClevrReader(root)
    os.remove(os.path.join(root, "CLEVR_dict.npy"))
    with pytest.raises(DatasetFormatError, match="CLEVR_dict.npy not found .*DATASETS.md §3"):
        ClevrReader(root)
    os.rename(os.path.join(root, "images"), os.path.join(root, "frames"))
    with pytest.raises(DatasetFormatError, match="images not found .*DATASETS.md §3"):
        ClevrReader(root)


# --- Abstract Scenes ------------------------------------------------------------------------

def test_abstract_two_stories_per_class_split_by_class(roots):
    reader = AbstractScenesReader(roots["abstract"], image_size=SIZE)
    assert story_ids(reader, "train") == ["Scene0_0-4", "Scene0_5-9", "Scene1_0-4", "Scene1_5-9"]
    assert story_ids(reader, "test") == ["Scene800_0-4", "Scene800_5-9"]
    assert story_ids(reader, "val") == ["Scene950_0-4", "Scene950_5-9"]


def test_abstract_story_sentences_and_clip_art_labels(roots):
    reader = AbstractScenesReader(roots["abstract"], image_size=SIZE)
    assert reader.label_names == ("jenny", "mike", "p_0s", "p_1s", "p_2s", "p_3s", "s_3s")
    story = load(reader, "Scene0_0-4")
    assert story.sentences[0] == "mike and jenny play in scene 0 group 1 line 0."
    assert story.sentences[3] == "mike and jenny play in scene 3 group 2 line 0."  # file 2 only
    assert story.labels[0].tolist() == [1, 1, 1, 0, 0, 0, 1]    # s_3s twice, p_0s, hb0_0s, hb1_3s
    assert story.labels[1].tolist() == [0, 0, 0, 1, 0, 0, 1]
    assert story.annotations[0] == {"scene": 0, "clip_art": ["jenny", "mike", "p_0s", "s_3s"]}
    assert_colours(story.frames, [fx.abstract_colour(s) for s in range(5)])
    assert story.sources[4] == "RenderedScenes/Scene0_4.png"
    later = load(reader, "Scene0_5-9")
    assert later.sentences[0] == "mike and jenny play in scene 5 group 1 line 1."  # blank line 0


def test_abstract_without_scenes_file_has_no_labels(tmp_path):
    reader = AbstractScenesReader(fx.build_abstract(str(tmp_path), scenes_file=False),
                                  image_size=SIZE)
    story = load(reader, "Scene800_5-9")
    assert reader.label_names == () and story.labels.shape == (5, 0)
    assert story.annotations[0] == {"scene": 8005}


@pytest.mark.parametrize("defect, reason", [
    ("missing_image", "image file not found"),
    ("corrupt_image", "unreadable image"),
    ("no_sentence", "no sentence for scene 12 in SimpleSentences1_10020.txt or "
                    "SimpleSentences2_10020.txt"),
    ("non_utf8_sentence", "caption is not valid UTF-8"),
])
def test_abstract_bad_story(tmp_path, defect, reason):
    reader = AbstractScenesReader(fx.build_abstract(str(tmp_path), defect=defect),
                                  image_size=SIZE)
    with pytest.raises(BadStoryError) as error:
        load(reader, fx.ABSTRACT_VICTIM)
    assert reason in error.value.reason
    assert load(reader, fx.ABSTRACT_SAFE).frames.shape == (5, SIZE, SIZE, 3)


@pytest.mark.parametrize("removed", ["RenderedScenes",
                                     "SimpleSentences/SimpleSentences1_10020.txt",
                                     "SimpleSentences/SimpleSentences2_10020.txt"])
def test_abstract_missing_required_file(tmp_path, removed):
    root = fx.build_abstract(str(tmp_path), scenes_file=False)
    path = os.path.join(root, removed)
    os.rename(path, path + ".moved")
    with pytest.raises(DatasetFormatError, match=f"{removed} not found in .*DATASETS.md §4"):
        AbstractScenesReader(root)


def test_abstract_malformed_text_files(tmp_path):
    root = fx.build_abstract(str(tmp_path))
    scenes = os.path.join(root, "Scenes_10020.txt")
    with open(scenes) as f:
        lines = f.read().splitlines()
    with open(scenes, "w") as f:
        f.write("\n".join(lines[:4]) + "\n")
    with pytest.raises(DatasetFormatError, match="Scenes_10020.txt ends before a clip-art piece "
                                                 "of scene 0"):
        AbstractScenesReader(root)
    with open(os.path.join(root, "SimpleSentences", "SimpleSentences2_10020.txt"), "ab") as f:
        f.write(b"scene twelve\n")
    with pytest.raises(DatasetFormatError, match="SimpleSentences2_10020.txt line 161 reads"):
        AbstractScenesReader(root)
