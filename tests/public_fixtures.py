"""Small, format-exact fixtures of the four public story-visualization releases (DATASETS.md
§1-4), written into a directory, each with named defects that inject the bad inputs a reader
must reject for one story while the others still load.

Every still is one solid colour that encodes where it came from (`*_colour` functions), so a test
can tell which still of a clip a reader used: resizing keeps a solid colour exact.
"""
import json
import os
import pickle

import numpy as np
from PIL import Image


def _write_png(path: str, rgb: np.ndarray, mode: str = "RGB") -> None:
    """Writes `rgb` as a PNG in `mode`: RGB, RGBA (alpha 128) or P (palette)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = Image.fromarray(rgb)
    if mode == "RGBA":
        image = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]))
    elif mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    image.save(path)


def _check_defect(defect: str | None, known: tuple[str, ...]) -> None:
    if defect is not None and defect not in known:
        raise ValueError(f"unknown defect {defect!r}: expected one of {', '.join(known)}")


def _corrupt(path: str) -> None:
    """Keeps the first half of a file: a truncated PNG / npy."""
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])


# ----------------------------------------------------------------------------------------------
# Pororo-SV (§1)

PORORO_EPISODES = ("Pororo_ENGLISH1_1/Pororo_ENGLISH1_1_ep1",   # clips 0..14, string order
                   "Pororo_ENGLISH1_2/Pororo_ENGLISH1_2_ep6")   # clips 1..6: numbering from 1
PORORO_CLIPS = {PORORO_EPISODES[0]: range(0, 15), PORORO_EPISODES[1]: range(1, 7)}
# Story starts in the field's ImageFolder order (file names sorted as strings): the cache rows.
PORORO_ROWS = tuple(f"{PORORO_EPISODES[0]}/{n}" for n in (0, 1, 10, 2, 3, 4, 5, 6, 7, 8, 9)) + \
    tuple(f"{PORORO_EPISODES[1]}/{n}" for n in (1, 2))
PORORO_SPLIT_ROWS = {"train": [3, 0, 11, 2], "val": [1, 5], "test": [12, 7]}
PORORO_VICTIM = f"{PORORO_EPISODES[0]}/2"       # story hit by every defect, through clip 4
PORORO_BAD_CLIP = f"{PORORO_EPISODES[0]}/4"
PORORO_SAFE = f"{PORORO_EPISODES[1]}/1"         # a story no defect touches
PORORO_DEFECTS = ("missing_image", "corrupt_image", "not_a_strip", "missing_label",
                  "missing_description", "empty_caption", "non_utf8_caption", "wrong_label_shape",
                  "missing_followers")
PORORO_FFFD_CLIP = f"{PORORO_EPISODES[0]}/3"


def pororo_stills(image_id: str) -> int:
    return 1 + int(image_id.rsplit("/", 1)[1]) % 4


def pororo_colour(image_id: str, still: int) -> tuple[int, int, int]:
    episode, number = image_id.rsplit("/", 1)
    return 40 + 100 * PORORO_EPISODES.index(episode), 10 * int(number), 50 * still


def pororo_labels(image_id: str) -> np.ndarray:
    episode, number = image_id.rsplit("/", 1)
    offset = int(number) + PORORO_EPISODES.index(episode)
    return np.array([int((offset + j) % 4 == 0) for j in range(9)])


def pororo_captions(image_id: str) -> list[str]:
    if image_id == PORORO_FFFD_CLIP:
        return ["loopy\ufffd\ufffds cake is ready "]
    number = int(image_id.rsplit("/", 1)[1])
    captions = [f"pororo and crong play in clip {number}"]
    if number % 2 == 0:
        captions.append(f"eddy builds a machine in clip {number}")
    return captions


def _object_array(items: list) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def build_pororo(root: str, *, split_file: str = "train_seen_unseen_ids.npy",
                 caches: bool = True, defect: str | None = None) -> str:
    """Writes a Pororo-SV tree: 21 clips (1-4 stills of 128 px each; clip ep1/5 is RGBA and
    ep1/6 a palette PNG), 13 stories, labels/descriptions dicts, frames_counter.npy, the story
    caches (unless `caches` is False) and one split file."""
    _check_defect(defect, PORORO_DEFECTS)
    image_ids = [f"{e}/{n}" for e, numbers in PORORO_CLIPS.items() for n in numbers]
    for image_id in image_ids:
        strip = np.concatenate([np.full((128, 128, 3), pororo_colour(image_id, s), np.uint8)
                                for s in range(pororo_stills(image_id))])
        mode = {f"{PORORO_EPISODES[0]}/5": "RGBA", f"{PORORO_EPISODES[0]}/6": "P"}.get(image_id,
                                                                                      "RGB")
        _write_png(os.path.join(root, image_id + ".png"), strip, mode)
    labels = {i: pororo_labels(i) for i in image_ids}
    descriptions = {i: pororo_captions(i) for i in image_ids}
    np.save(os.path.join(root, "frames_counter.npy"),
            {f"{e}/": max(numbers) for e, numbers in PORORO_CLIPS.items()})
    rows = [[row, *(f"{row.rsplit('/', 1)[0]}/{int(row.rsplit('/', 1)[1]) + k}"
                    for k in range(1, 5))] for row in PORORO_ROWS]
    following = np.array([[(f + ".png").encode() for f in row[1:]] for row in rows])
    bad_png = os.path.join(root, PORORO_BAD_CLIP + ".png")
    if defect == "missing_image":
        os.remove(bad_png)
    elif defect == "corrupt_image":
        _corrupt(bad_png)
    elif defect == "not_a_strip":
        _write_png(bad_png, np.zeros((128, 256, 3), np.uint8))
    elif defect == "missing_label":
        del labels[PORORO_BAD_CLIP]
    elif defect == "missing_description":
        del descriptions[PORORO_BAD_CLIP]
    elif defect == "empty_caption":
        descriptions[PORORO_BAD_CLIP] = ["  "]
    elif defect == "non_utf8_caption":
        descriptions[PORORO_BAD_CLIP] = [b"caf\xe9 with crong"]
    elif defect == "wrong_label_shape":
        labels[PORORO_BAD_CLIP] = np.zeros(8, int)
    elif defect == "missing_followers":
        following[PORORO_ROWS.index(PORORO_VICTIM), 2:] = b""
    np.save(os.path.join(root, "labels.npy"), labels)
    np.save(os.path.join(root, "descriptions.npy"), descriptions)
    if caches:
        np.save(os.path.join(root, "img_cache4.npy"),
                np.array([(r + ".png").encode() for r in PORORO_ROWS]))
        np.save(os.path.join(root, "following_cache4.npy"), following)
    if split_file == "train_seen_unseen_ids.npy":
        splits = [PORORO_SPLIT_ROWS[s] for s in ("train", "val", "test")]
    else:
        splits = [PORORO_SPLIT_ROWS["train"] + PORORO_SPLIT_ROWS["val"], PORORO_SPLIT_ROWS["test"]]
    np.save(os.path.join(root, split_file), _object_array(splits))
    return root


# ----------------------------------------------------------------------------------------------
# Flintstones-SV (§2)

def _shots(season: int, episode: int, count: int) -> list[str]:
    return [f"s_{season:02d}_e_{episode:02d}_shot_{100 * i:06d}_{100 * i + 99:06d}"
            for i in range(count)]


FLINTSTONES_EP11 = _shots(1, 1, 7)
FLINTSTONES_EP12 = _shots(1, 2, 5)
FLINTSTONES_EP21 = _shots(2, 1, 1)
FLINTSTONES_CLIPS = FLINTSTONES_EP11 + FLINTSTONES_EP12 + FLINTSTONES_EP21
FLINTSTONES_SPLITS = {
    "train": [FLINTSTONES_EP11[2], FLINTSTONES_EP11[0], FLINTSTONES_EP11[5], FLINTSTONES_EP11[6]],
    "val": FLINTSTONES_EP12,
    "test": [FLINTSTONES_EP11[1], FLINTSTONES_EP11[3], FLINTSTONES_EP11[4], FLINTSTONES_EP21[0]],
}
# The field's following_cache4.pkl: the next 4 sorted clips of the same episode; the last clip of
# the sorted list gets an empty entry (the field's builder keeps it, its loader filters it).
FLINTSTONES_FOLLOWING = {FLINTSTONES_EP11[i]: FLINTSTONES_EP11[i + 1:i + 5] for i in range(3)}
FLINTSTONES_FOLLOWING[FLINTSTONES_EP12[0]] = FLINTSTONES_EP12[1:5]
FLINTSTONES_FOLLOWING[FLINTSTONES_EP21[0]] = []
FLINTSTONES_CHARACTERS = ["Fred", "Wilma ", "barney", "Mr Slate", "Dino", "Betty", "Pebbles",
                          "Gazoo"]
FLINTSTONES_VICTIM = FLINTSTONES_EP11[0]
FLINTSTONES_BAD_CLIP = FLINTSTONES_EP11[3]
FLINTSTONES_SAFE = FLINTSTONES_EP12[0]
FLINTSTONES_DEFECTS = ("missing_image", "corrupt_image", "wrong_shape", "missing_label",
                       "missing_description", "empty_caption", "missing_followers")


def flintstones_colour(clip: str, still: int) -> tuple[int, int, int]:
    return 15 * FLINTSTONES_CLIPS.index(clip), 50 * still, 200


def flintstones_characters(clip: str) -> list[str]:
    index = FLINTSTONES_CLIPS.index(clip)
    return [FLINTSTONES_CHARACTERS[(index + k) % 8] for k in range(index % 3 + 1)]


def flintstones_description(clip: str) -> str:
    names = " and ".join(c.strip() for c in flintstones_characters(clip))
    return f"{names} talk in shot {clip[-13:]}"


def build_flintstones(root: str, *, caches: bool = True, defect: str | None = None) -> str:
    """Writes a Flintstones-SV tree: 13 clips in 3 episodes as (5, 128, 128, 3) uint8 npy files,
    the annotations and split JSON and, if `caches`, following_cache4.pkl and labels.pkl."""
    _check_defect(defect, FLINTSTONES_DEFECTS)
    frames_dir = os.path.join(root, "video_frames_sampled")
    os.makedirs(frames_dir)
    for clip in FLINTSTONES_CLIPS:
        stills = np.stack([np.full((128, 128, 3), flintstones_colour(clip, s), np.uint8)
                           for s in range(5)])
        np.save(os.path.join(frames_dir, clip + ".npy"), stills)
    annotations = [{"globalID": clip, "description": flintstones_description(clip),
                    "characters": [{"entityLabel": c, "labelNPs": c.lower()}
                                   for c in flintstones_characters(clip)],
                    "objects": [], "setting": "room"} for clip in FLINTSTONES_CLIPS]
    names = ["Wilma", "Fred", "Betty", "Barney", "Dino", "Pebbles", "Mr Slate"]
    labels = {clip: [int(n.lower() in [c.strip().lower() for c in flintstones_characters(clip)])
                     for n in names] for clip in FLINTSTONES_CLIPS}
    following = {clip: list(f) for clip, f in FLINTSTONES_FOLLOWING.items()}
    bad_index = FLINTSTONES_CLIPS.index(FLINTSTONES_BAD_CLIP)
    bad_npy = os.path.join(frames_dir, FLINTSTONES_BAD_CLIP + ".npy")
    if defect == "missing_image":
        os.remove(bad_npy)
    elif defect == "corrupt_image":
        _corrupt(bad_npy)
    elif defect == "wrong_shape":
        np.save(bad_npy, np.zeros((5, 128, 128), np.uint8))
    elif defect == "missing_label":
        del labels[FLINTSTONES_BAD_CLIP]
    elif defect == "missing_description":
        del annotations[bad_index]
    elif defect == "empty_caption":
        annotations[bad_index]["description"] = ""
    elif defect == "missing_followers":
        following[FLINTSTONES_VICTIM] = following[FLINTSTONES_VICTIM][:3]
    with open(os.path.join(root, "flintstones_annotations_v1-0.json"), "w") as f:
        json.dump(annotations, f)
    with open(os.path.join(root, "train-val-test_split.json"), "w") as f:
        json.dump(FLINTSTONES_SPLITS, f)
    if caches:
        with open(os.path.join(root, "following_cache4.pkl"), "wb") as f:
            pickle.dump(following, f)
        with open(os.path.join(root, "labels.pkl"), "wb") as f:
            pickle.dump(labels, f)
    return root


# ----------------------------------------------------------------------------------------------
# CLEVR-SV (§3)

_SHAPES, _COLOURS = ("cube", "sphere", "cylinder"), ("gray", "red", "blue", "green", "brown",
                                                     "purple", "cyan", "yellow")
_MATERIALS, _SIZES = ("rubber", "metal"), ("large", "small")
# story -> (camera right, [(size, colour, material, shape, (x, y, z)) per object])
CLEVR_STORIES = {
    3: ((1.0, 0.0, 0.0), [("large", "gray", "rubber", "cube", (0.0, 0.0, 0.7)),
                          ("small", "red", "metal", "sphere", (-2.0, 0.5, 0.35)),
                          ("large", "cyan", "rubber", "cylinder", (-1.5, 3.0, 0.7)),
                          ("small", "yellow", "metal", "cube", (1.0, -2.0, 0.35))]),
    7: ((0.6, 0.8, 0.0), [("small", "blue", "rubber", "sphere", (0.0, 0.0, 0.35)),
                          ("large", "green", "metal", "cube", (1.2, 1.6, 0.7)),
                          ("small", "brown", "rubber", "cylinder", (-1.2, 0.9, 0.35)),
                          ("large", "purple", "metal", "sphere", (0.8, -0.6, 0.7))]),
    10000: ((1.0, 0.0, 0.0), [("large", "red", "rubber", "cube", (0.0, 0.0, 0.7)),
                              ("large", "red", "rubber", "cube", (2.0, 0.0, 0.7)),
                              ("small", "gray", "metal", "sphere", (0.0, -2.0, 0.35)),
                              ("small", "gray", "metal", "sphere", (2.0, 2.0, 0.35))]),
    10001: ((0.0, 1.0, 0.0), [("small", "cyan", "metal", "cylinder", (0.0, 0.0, 0.35)),
                              ("large", "yellow", "rubber", "sphere", (0.0, 1.0, 0.7)),
                              ("small", "purple", "rubber", "cube", (1.0, 0.0, 0.35)),
                              ("large", "blue", "metal", "cylinder", (-3.0, -3.0, 0.7))]),
    13000: ((1.0, 0.0, 0.0), [("small", "green", "rubber", "sphere", (0.0, 0.0, 0.35)),
                              ("small", "brown", "metal", "cube", (-1.0, 0.0, 0.35)),
                              ("large", "gray", "rubber", "cylinder", (0.0, -1.0, 0.7)),
                              ("large", "red", "metal", "cube", (1.0, 1.0, 0.7))]),
}
CLEVR_VICTIM, CLEVR_BAD_FRAME, CLEVR_SAFE = 3, 3, 7
CLEVR_DEFECTS = ("missing_image", "corrupt_image", "missing_entry", "wrong_shape", "bad_one_hot")


def clevr_colour(story: int, frame: int) -> tuple[int, int, int]:
    return 40 * list(CLEVR_STORIES).index(story), 50 * frame, 90


def _clevr_object(size, colour, material, shape, coords) -> list[float]:
    return ([float(shape == s) for s in _SHAPES] + [float(colour == c) for c in _COLOURS]
            + [float(material == m) for m in _MATERIALS] + [float(size == s) for s in _SIZES]
            + list(coords))


def build_clevr(root: str, *, defect: str | None = None) -> str:
    """Writes a CLEVR-SV tree: 5 stories x 4 RGBA 320x240 frames and CLEVR_dict.npy (frame k's
    vector holds objects 1..k, zeros after, and the camera's right direction)."""
    _check_defect(defect, CLEVR_DEFECTS)
    vectors = {}
    for story, (right, objects) in CLEVR_STORIES.items():
        vector = np.zeros(75)
        vector[72:] = right
        for k, obj in enumerate(objects, 1):
            vector[(k - 1) * 18:k * 18] = _clevr_object(*obj)
            name = f"CLEVR_new_{story:06d}_{k}.png"
            vectors[name] = vector.copy()
            rgba = np.dstack([np.full((240, 320, 3), clevr_colour(story, k), np.uint8),
                              np.full((240, 320), 255, np.uint8)])
            os.makedirs(os.path.join(root, "images"), exist_ok=True)
            Image.fromarray(rgba).save(os.path.join(root, "images", name))
    bad_name = f"CLEVR_new_{CLEVR_VICTIM:06d}_{CLEVR_BAD_FRAME}.png"
    if defect == "missing_image":
        os.remove(os.path.join(root, "images", bad_name))
    elif defect == "corrupt_image":
        _corrupt(os.path.join(root, "images", bad_name))
    elif defect == "missing_entry":
        del vectors[bad_name]
    elif defect == "wrong_shape":
        vectors[bad_name] = vectors[bad_name][:70]
    elif defect == "bad_one_hot":
        vectors[bad_name][(CLEVR_BAD_FRAME - 1) * 18:(CLEVR_BAD_FRAME - 1) * 18 + 3] = 0.0
    np.save(os.path.join(root, "CLEVR_dict.npy"), vectors)
    return root


# ----------------------------------------------------------------------------------------------
# Abstract Scenes (§4)

ABSTRACT_CLASSES = (0, 1, 800, 950)          # train, train, test, val
ABSTRACT_ONLY_IN_FILE2 = 3                   # scene with no line in SimpleSentences1
ABSTRACT_BLANK_FIRST = 5                     # scene whose first line has no sentence
ABSTRACT_VICTIM, ABSTRACT_BAD_SCENE, ABSTRACT_SAFE = "Scene1_0-4", 12, "Scene1_5-9"
ABSTRACT_DEFECTS = ("missing_image", "corrupt_image", "no_sentence", "non_utf8_sentence")


def abstract_colour(scene: int) -> tuple[int, int, int]:
    return 50 * ABSTRACT_CLASSES.index(scene // 10), 25 * (scene % 10), 30


def abstract_sentence(scene: int, group: int, index: int) -> str:
    return f"mike and jenny play in scene {scene} group {group} line {index}."


def abstract_clip_art(scene: int) -> list[str]:
    """The PNG names of the clip-art pieces of a fixture scene (repeats allowed)."""
    pieces = ["s_3s.png", f"p_{scene % 4}s.png", "s_3s.png"]
    if scene % 2 == 0:
        pieces.append(f"hb0_{scene % 35}s.png")
    if scene % 3 == 0:
        pieces.append("hb1_3s.png")
    return pieces


def build_abstract(root: str, *, scenes_file: bool = True, defect: str | None = None) -> str:
    """Writes an AbstractScenes_v1.1 subset: classes 0, 1, 800, 950 rendered (500x400), both
    SimpleSentences files (blank lines, a scene described only in file 2, a scene whose first
    line is blank) and, if `scenes_file`, a full 10020-scene Scenes_10020.txt."""
    _check_defect(defect, ABSTRACT_DEFECTS)
    scenes = [10 * c + i for c in ABSTRACT_CLASSES for i in range(10)]
    for scene in scenes:
        _write_png(os.path.join(root, "RenderedScenes", f"Scene{scene // 10}_{scene % 10}.png"),
                   np.full((400, 500, 3), abstract_colour(scene), np.uint8))
    files = {1: [], 2: []}
    for scene in scenes:
        for group in (1, 2):
            if (group, scene) == (1, ABSTRACT_ONLY_IN_FILE2):
                continue
            lines = [f"{scene}\t{i}\t{abstract_sentence(scene, group, i)}\n".encode()
                     for i in range(3)]
            if (group, scene) == (1, ABSTRACT_BLANK_FIRST):
                lines[0] = f"{scene}\t0\t\n".encode()
            if scene == ABSTRACT_BAD_SCENE and defect == "no_sentence":
                lines = []
            if scene == ABSTRACT_BAD_SCENE and defect == "non_utf8_sentence" and group == 1:
                lines[0] = f"{scene}\t0\tjenny\xe9 kicks the ball\n".encode("latin-1")
            files[group] += lines + [b"\n"]
    os.makedirs(os.path.join(root, "SimpleSentences"))
    for group, lines in files.items():
        with open(os.path.join(root, "SimpleSentences", f"SimpleSentences{group}_10020.txt"),
                  "wb") as f:
            f.writelines(lines)
    if scenes_file:
        lines = ["10020"]
        for scene in range(10020):
            pieces = abstract_clip_art(scene) if scene in scenes else []
            lines.append(f"{scene // 10} {len(pieces)}")
            lines += [f"{png} 0 0 {100 + scene % 300} 200 {scene % 3} 0" for png in pieces]
        with open(os.path.join(root, "Scenes_10020.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    bad_png = os.path.join(root, "RenderedScenes",
                           f"Scene{ABSTRACT_BAD_SCENE // 10}_{ABSTRACT_BAD_SCENE % 10}.png")
    if defect == "missing_image":
        os.remove(bad_png)
    elif defect == "corrupt_image":
        _corrupt(bad_png)
    return root
