"""The exported generator: a TF-Hub-format SavedModel that serves raw sentences in a fresh process
importing only TensorFlow and TensorFlow Hub, tokenising exactly as the Python tokenizer."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from configs import smoke
from storyvis_tf.evaluation.evaluator import EvaluateArgumentError, check_model_matches_data
from storyvis_tf.export import savedmodel
from storyvis_tf.text.vocabulary import PAD_ID, UNK_ID, Vocabulary, tokenize
from storyvis_tf.training import run_dir
from tests.pipeline_cli import run_pipeline

MAX_SENTENCE_LENGTH = 6
FRAMES = smoke.get_config().data.frames_per_story
# Two stories: OOV words, U+FFFD, punctuation, digits, accents, non-Latin case, an empty sentence,
# and a sentence longer than MAX_SENTENCE_LENGTH (truncated).
STORIES = [
    ["Pororo\ufffd\ufffdplays with CRONG!!", "It's 3 o'clock, 2nd-place_win.",
     "ÀÉÎõü ñ Straße ΟΔΟΣ", "１２３ ² unknownword", ""],
    ["a b c d e f g h i j", "Crong?", "zebra pororo", "  spaces   only ", "ÉÉ-é"],
]
VOCABULARY = Vocabulary.from_sentences(
    ["pororo plays with crong", "it s 3 o clock 2nd place_win", "àéîõü ñ straße οδος",
     "１２３ ² a b c d e f g h é"])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run directory with freshly initialised smoke-config networks."""
    directory = str(tmp_path_factory.mktemp("run"))
    config = smoke.get_config()
    text_encoder, generator = run_dir.build_generation_models(config, len(VOCABULARY),
                                                              MAX_SENTENCE_LENGTH)
    run_dir.save_generation_artifacts(directory, config, VOCABULARY, text_encoder, generator,
                                      {"max_sentence_length": MAX_SENTENCE_LENGTH, "step": 7,
                                       "epoch": 2})
    return directory


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    """The run exported into a model directory that already holds version 1."""
    export_dir = tmp_path_factory.mktemp("export")
    (export_dir / "1").mkdir()
    return savedmodel.export_generator(run, str(export_dir))


def expected_token_ids(stories):
    rows = [[(VOCABULARY.encode(s) + [PAD_ID] * MAX_SENTENCE_LENGTH)[:MAX_SENTENCE_LENGTH]
             for s in story] for story in stories]
    return np.array(rows, np.int32)


def test_versions_increment(exported, tmp_path):
    assert os.path.basename(exported) == "2"
    assert sorted(os.listdir(os.path.dirname(exported))) == ["1", "2"]  # no staging left
    for name in ("1", "3", "notes", "10x"):
        (tmp_path / name).mkdir()
    (tmp_path / "7").write_text("a file, not a version")
    assert savedmodel.next_version(str(tmp_path)) == 4
    assert savedmodel.next_version(str(tmp_path / "absent")) == 1


def test_manifest_asset(exported):
    manifest = savedmodel.read_export_manifest(exported)
    assert manifest["kind"] == savedmodel.EXPORT_KIND
    assert manifest["version"] == 2
    assert manifest["vocab_sha256"] == VOCABULARY.sha256()
    assert manifest["training"] == {"step": 7, "epoch": 2}
    assert manifest["max_sentence_length"] == MAX_SENTENCE_LENGTH
    assert manifest["signature"]["inputs"]["seed"]["default"] == 0
    with open(os.path.join(exported, "assets", savedmodel.VOCABULARY_ASSET)) as f:
        assert f.read().splitlines() == VOCABULARY.words


SERVING_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    import tensorflow_hub as hub

    model_dir, stories = sys.argv[1], json.loads(sys.argv[2])
    sentences = tf.constant(stories)
    loaded = tf.saved_model.load(model_dir)
    hub_loaded = hub.load(model_dir)
    serve = loaded.signatures["serving_default"]
    out = serve(sentences=sentences, seed=tf.constant(5, tf.int64))
    images, png = out["images"].numpy(), out["images_bytes"].numpy()
    decoded = np.stack([[tf.io.decode_png(p, channels=3).numpy() for p in row] for row in png])

    def images_of(**inputs):
        return serve(sentences=sentences, **inputs)["images"].numpy()

    def error_of(**inputs):
        try:
            serve(**inputs)
        except tf.errors.InvalidArgumentError as error:
            return error.message
        return None

    result = {
        "images": [list(images.shape), images.dtype.name],
        "images_bytes": [list(png.shape), out["images_bytes"].dtype.name],
        "png_round_trip": bool(np.array_equal(decoded, images)),
        "same_seed": bool(np.array_equal(images_of(seed=tf.constant(5, tf.int64)), images)),
        "other_seed_differs": not np.array_equal(images_of(seed=tf.constant(6, tf.int64)), images),
        "scalar_seed_is_seed_plus_index": bool(np.array_equal(
            images_of(seed=tf.constant([5, 6], tf.int64)), images)),
        "stories_differ": not np.array_equal(images[0], images[1]),
        "hub_equals_signature": bool(np.array_equal(
            hub_loaded.generate(sentences, tf.constant(5, tf.int64))["images"].numpy(), images)),
        "default_seed_is_0": bool(np.array_equal(
            loaded.generate(sentences)["images"].numpy(),
            images_of(seed=tf.constant(0, tf.int64)))),
        "token_ids": loaded.token_ids(sentences).numpy().tolist(),
        "frames_error": error_of(sentences=sentences[:, :4], seed=tf.constant(0, tf.int64)),
        "seed_error": error_of(sentences=sentences, seed=tf.constant([1, 2, 3], tf.int64)),
        "manifest_kind": json.load(open(loaded.manifest.asset_path.numpy().decode()))["kind"],
        "storyvis_tf_imported": any(name.startswith("storyvis_tf") for name in sys.modules),
    }
    print("RESULT " + json.dumps(result))
""")


def test_serving_in_a_fresh_process(exported, tmp_path):
    """Loaded with tf.saved_model.load and hub.load where storyvis_tf is never imported."""
    completed = subprocess.run(
        [sys.executable, "-c", SERVING_SCRIPT, exported, json.dumps(STORIES)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.split("RESULT ", 1)[1])

    size = smoke.get_config().data.image_size
    assert result["images"] == [[2, FRAMES, size, size, 3], "uint8"]
    assert result["images_bytes"] == [[2, FRAMES], "string"]
    assert result["png_round_trip"]
    assert result["same_seed"] and result["other_seed_differs"]
    assert result["scalar_seed_is_seed_plus_index"] and result["stories_differ"]
    assert result["hub_equals_signature"] and result["default_seed_is_0"]
    token_ids = expected_token_ids(STORIES)
    np.testing.assert_array_equal(result["token_ids"], token_ids)
    assert token_ids[0, 3, 2] == UNK_ID and UNK_ID not in token_ids[0, 3, :2]  # OOV
    assert (token_ids[0, 4] == PAD_ID).all()  # empty sentence
    assert len(VOCABULARY.encode(STORIES[1][0])) > MAX_SENTENCE_LENGTH  # truncated
    assert "frames_per_story" in result["frames_error"]
    assert "one seed per story" in result["seed_error"]
    assert result["manifest_kind"] == savedmodel.EXPORT_KIND
    assert not result["storyvis_tf_imported"]


def test_in_graph_tokenisation_equals_python():
    """Every character of Latin, Greek, Cyrillic, ..., symbols (U+0020-U+2BFF), CJK and Hangul
    between two letters and alone, and the test sentences."""
    code_points = [*range(0x20, 0x2C00), *range(0x3000, 0xA000), *range(0xAC00, 0xD7A4)]
    sentences = [f"a{chr(c)}B {chr(c)}" for c in code_points]
    sentences += [sentence for story in STORIES for sentence in story]
    tokens = savedmodel.tokenize_in_graph(tf.constant(sentences)).to_list()
    mismatches = [(s, [t.decode() for t in got], tokenize(s)) for s, got in zip(sentences, tokens)
                  if [t.decode() for t in got] != tokenize(s)]
    assert not mismatches, mismatches[:10]


def test_missing_or_inconsistent_directories_are_refused(run, exported, tmp_path):
    missing = str(tmp_path / "no_such_run")
    with pytest.raises(FileNotFoundError, match="no_such_run"):
        savedmodel.export_generator(missing, str(tmp_path / "export"))
    tampered = str(tmp_path / "tampered")
    shutil.copytree(run, tampered)
    with open(os.path.join(tampered, run_dir.VOCAB), "a") as f:
        f.write("extra\n")
    with pytest.raises(ValueError, match="does not match the vocabulary hash"):
        savedmodel.export_generator(tampered, str(tmp_path / "export"))
    labelled = str(tmp_path / "labelled")
    shutil.copytree(run, labelled)
    with open(os.path.join(labelled, run_dir.CONFIG)) as f:
        config = json.load(f)
    config["generator"]["use_character_labels"] = True
    with open(os.path.join(labelled, run_dir.CONFIG), "w") as f:
        json.dump(config, f)
    with pytest.raises(ValueError, match="use_character_labels is on"):
        savedmodel.export_generator(labelled, str(tmp_path / "export"))
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        savedmodel.read_export_manifest(str(tmp_path / "no_such_model"))
    with pytest.raises(FileNotFoundError, match=r"EXPORT/<version>, not EXPORT"):
        savedmodel.read_export_manifest(os.path.dirname(exported))


def test_vocabulary_mismatch_with_the_data_is_refused(exported):
    manifest = savedmodel.read_export_manifest(exported)
    data = {"vocab_sha256": Vocabulary.from_sentences(["other words"]).sha256(),
            "image_size": manifest["image_size"], "frames_per_story": manifest["frames_per_story"]}
    with pytest.raises(EvaluateArgumentError, match="vocabulary mismatch.*evaluate on the data"):
        check_model_matches_data(manifest, data, exported, "DATA")
    check_model_matches_data(manifest, {**data, "vocab_sha256": manifest["vocab_sha256"]},
                             exported, "DATA")


def test_cli_names_a_missing_run_dir(tmp_path):
    completed = run_pipeline("export", f"--run_dir={tmp_path / 'absent_run'}",
                             f"--export_dir={tmp_path / 'export'}", timeout=300)
    assert completed.returncode != 0
    assert "absent_run does not exist" in completed.stderr


def test_an_edited_export_vocabulary_is_refused_by_its_loader(exported, tmp_path):
    loaded, manifest = savedmodel.load_export(exported)
    assert manifest["kind"] == savedmodel.EXPORT_KIND and "serving_default" in loaded.signatures
    edited = str(tmp_path / "edited")
    shutil.copytree(exported, edited)
    vocabulary_file = os.path.join(edited, "assets", savedmodel.VOCABULARY_ASSET)
    with open(vocabulary_file, "a", encoding="utf-8") as f:
        f.write("extra\n")
    with pytest.raises(ValueError, match=rf"{vocabulary_file} is missing or does not match "
                                         "vocab_sha256"):
        savedmodel.load_export(edited)
