"""`python -m pipelines.generate`: a user's own stories through an export, and the BWSA relation
matrices (the paper's Fig. 5) through the export's `relations` signature."""
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from configs import smoke
from storyvis_tf import generation
from storyvis_tf.evaluation.evaluator import generate_stories
from storyvis_tf.export import savedmodel
from storyvis_tf.text.vocabulary import UNK_ID, Vocabulary
from storyvis_tf.training import run_dir
from storyvis_tf.visualization import relation_heat_maps, story_grid
from tests.pipeline_cli import run_pipeline

pytestmark = pytest.mark.slow

MAX_SENTENCE_LENGTH = 6
FRAMES = smoke.get_config().data.frames_per_story
VOCABULARY = Vocabulary.from_sentences(["pororo plays with crong in the snow",
                                        "loopy reads a red book"])
STORY = ["Pororo plays.", "Crong reads a red book", "Loopy flies a dragon", "snow", "the end"]
OTHER_STORY = ["a", "b", "c", "d", "e"]


def _export(directory, attention: str) -> str:
    """A freshly initialised smoke-config generator with `attention`, exported."""
    config = smoke.get_config()
    config.generator.attention = attention
    text_encoder, generator = run_dir.build_generation_models(config, len(VOCABULARY),
                                                              MAX_SENTENCE_LENGTH)
    run_dir.save_generation_artifacts(str(directory / "run"), config, VOCABULARY, text_encoder,
                                      generator, {"max_sentence_length": MAX_SENTENCE_LENGTH,
                                                  "step": 1})
    return savedmodel.export_generator(str(directory / "run"), str(directory / "export"))


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return {attention: _export(tmp_path_factory.mktemp(attention), attention)
            for attention in ("bwsa", "none")}


def _served(model_dir, stories, seed):
    return generate_stories(tf.saved_model.load(model_dir), np.array(stories, dtype=object),
                            seed + np.arange(len(stories), dtype=np.int64), 4, verbose=False)


def _picture(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_story_and_relation_heat_maps_from_the_command_line(exports, tmp_path):
    output, relations = tmp_path / "out" / "story.png", tmp_path / "relations"
    completed = run_pipeline("generate", f"--model={exports['bwsa']}", "--story=" + "|".join(STORY),
                             "--seed=3", f"--output={output}", f"--relations={relations}")
    assert completed.returncode == 0, completed.stderr[-3000:]

    served = _served(exports["bwsa"], [STORY], 3)
    np.testing.assert_array_equal(_picture(output), story_grid(served, [STORY]))
    # One heat map per word the frame reads (the first MAX_SENTENCE_LENGTH), per frame: each
    # row holds the frame and then one panel per word.
    assert sorted(os.listdir(relations)) == [f"story1_frame{t}.png" for t in range(1, 6)]
    size = served.shape[2]
    for t, sentence in enumerate(STORY):
        panels = 1 + min(len(sentence.split()), MAX_SENTENCE_LENGTH)
        row = story_grid(np.zeros((1, panels, size, size, 3), np.uint8), [[""] * panels])
        assert _picture(relations / f"story1_frame{t + 1}.png").shape[1] == row.shape[1]
    frame = _picture(relations / "story1_frame2.png")
    np.testing.assert_array_equal(frame[4:4 + 128:4, 4:4 + 128:4], served[0, 1])  # the frame


def test_stories_file_renders_each_story_with_its_seed(exports, tmp_path):
    stories_file = tmp_path / "stories.txt"
    stories_file.write_text("|".join(STORY) + "\n\n" + " | ".join(OTHER_STORY) + "\n")
    output = tmp_path / "stories.png"
    completed = run_pipeline("generate", f"--model={exports['none']}",
                             f"--stories_file={stories_file}", "--seed=7", f"--output={output}")
    assert completed.returncode == 0, completed.stderr[-3000:]
    stories = [STORY, OTHER_STORY]
    np.testing.assert_array_equal(_picture(output),
                                  story_grid(_served(exports["none"], stories, 7), stories))


def test_wrong_number_of_sentences_is_refused_with_the_models_count(exports, tmp_path):
    output = tmp_path / "never.png"
    completed = run_pipeline("generate", f"--model={exports['bwsa']}", "--story=one|two|three",
                             f"--output={output}")
    assert completed.returncode != 0
    assert completed.stderr.strip().splitlines()[-1].endswith(
        f"--story: 3 sentences, but the model takes {FRAMES} (frames_per_story), separated "
        "by '|'")
    assert not output.exists()


def test_bad_stories_file_line_is_named(tmp_path):
    stories_file = tmp_path / "stories.txt"
    stories_file.write_text("|".join(STORY) + "\n" + "|".join(STORY[:4]) + "\n")
    with pytest.raises(generation.StoryInputError,
                       match=rf"stories.txt line 2: 4 sentences, but the model takes {FRAMES}"):
        generation.read_stories_file(str(stories_file), FRAMES)
    stories_file.write_text("a|b||d|e\n")
    with pytest.raises(generation.StoryInputError, match="line 1: sentence 3 is empty"):
        generation.read_stories_file(str(stories_file), FRAMES)
    stories_file.write_text("\n\n")
    with pytest.raises(generation.StoryInputError, match="holds no story"):
        generation.read_stories_file(str(stories_file), FRAMES)


def test_heat_maps_of_a_frame_that_reads_no_word():
    frame = np.full((32, 32, 3), 90, np.uint8)
    picture = relation_heat_maps(frame, {16: np.zeros((0, 16, 16), np.float32)}, [])
    assert picture.shape[1] == story_grid(frame[None, None], [[""]]).shape[1]


def test_relations_refused_without_bwsa(exports, tmp_path):
    output = str(tmp_path / "story.png")
    manifest = generation.check_request(exports["bwsa"], output, str(tmp_path / "maps"))
    assert manifest["relations_signature"]["outputs"].keys() == {
        "images", "words", "token_ids", "relations_16", "relations_32"}
    with pytest.raises(generation.StoryInputError,
                       match="generator.attention='none'; relation matrices exist only for BWSA"):
        generation.check_request(exports["none"], output, str(tmp_path / "maps"))
    with pytest.raises(generation.StoryInputError, match="must be a .png file"):
        generation.check_request(exports["bwsa"], str(tmp_path / "story.jpg"))


def test_relations_signature_holds_the_generators_relation_matrices(exports):
    """The signature's maps are BWSA's alpha [B*T, r*r, L] of the same generator on the same
    noise, as [B, T, L, r, r]; its images are serving_default's; none-models have no signature."""
    loaded = tf.saved_model.load(exports["bwsa"])
    sentences = tf.constant([STORY, OTHER_STORY])
    seed = tf.constant(5, tf.int64)
    maps = loaded.signatures["relations"](sentences=sentences, seed=seed)
    served = loaded.signatures["serving_default"](sentences=sentences, seed=seed)
    np.testing.assert_array_equal(maps["images"], served["images"])
    assert maps["words"].numpy()[0, 1].tolist() == [b"crong", b"reads", b"a", b"red", b"book", b""]
    assert maps["token_ids"].numpy()[0, 2, 3] == UNK_ID  # "dragon"

    config, _, _, text_encoder, generator = run_dir.load_run(
        savedmodel.read_export_manifest(exports["bwsa"])["run_dir"])
    noise = tf.stack([tf.random.stateless_normal([config.generator.noise_dim],
                                                 seed=tf.constant([s, 0], tf.int64))
                      for s in (5, 6)])
    expected = run_dir.generation_outputs(text_encoder, generator, maps["token_ids"], noise)
    for r in (16, 32):
        alpha = np.asarray(expected["relations"][r]).reshape(2, FRAMES, r, r, -1)
        np.testing.assert_allclose(maps[f"relations_{r}"], alpha.transpose(0, 1, 4, 2, 3),
                                   atol=1e-5)
    assert "relations" not in tf.saved_model.load(exports["none"]).signatures
