"""Exports a training run's generator as a TF-Hub-format SavedModel in TensorFlow Serving's layout.

    EXPORT/<version>/saved_model.pb, variables/   the graph and the weights
    EXPORT/<version>/assets/vocab.txt             the training vocabulary (the lookup table's)
    EXPORT/<version>/assets/manifest.json         what was exported (see `export_generator`)

`<version>` is the next integer after the largest one already in EXPORT (1 for an empty EXPORT);
the SavedModel is written to a hidden staging directory and renamed into place, so TensorFlow
Serving, which polls EXPORT for new versions, never sees a half-written one.

The `serving_default` signature takes raw text, so a client needs nothing of storyvis_tf:

  inputs   sentences  tf.string [batch, frames]  one story per row, frames = the run's
                                                 frames_per_story (another count fails with an
                                                 InvalidArgumentError that says so)
           seed       tf.int64, scalar or [batch]; optional, default 0 (see below)
  outputs  images        tf.uint8  [batch, frames, H, W, 3]
           images_bytes  tf.string [batch, frames]  one PNG per frame (TF Serving's REST API
                                                    returns `*_bytes` outputs base64-encoded)

Sentences are tokenised in the graph exactly as `storyvis_tf.text.vocabulary.tokenize` does
(`tokenize_in_graph`), looked up in the vocabulary (unknown words -> UNK id) and padded or truncated
to the run's max_sentence_length. Story b's noise is `tf.random.stateless_normal` seeded by
(seed_b, 0): a [batch] seed gives each story its own seed, a scalar seed s gives story b the seed
s + b, so the same seed (and sentences) always gives the same images.

The seed's default is recorded in the SignatureDef (a PlaceholderWithDefault: TF Serving may
omit it); Python callers of `loaded.signatures["serving_default"]` must still pass every input (a
tf.function limitation), while `loaded.generate(sentences)`, the same function as an attribute,
applies the default. `loaded.token_ids(sentences)` shows the ids the model reads, and the
manifest of a loaded model is at `loaded.manifest.asset_path` (assets/manifest.json).

A BWSA generator (generator.attention "bwsa") gets a second signature, `relations`, with the
same inputs and the BWSA relation matrices of the main paper's Fig. 5:

  outputs  images        tf.uint8   [batch, frames, H, W, 3]   as serving_default's, same seed
           words         tf.string  [batch, frames, L]  the tokens the model reads ("" = padding)
           token_ids     tf.int32   [batch, frames, L]  their vocabulary ids (UNK for unknown)
           relations_<r> tf.float32 [batch, frames, L, r, r]  alpha of the attention stage at
                                                    r x r, in [-1, 1], one map per word

(L = max_sentence_length). `python -m pipelines.generate --relations` draws them.

Generators trained with character labels (generator.use_character_labels) cannot be exported:
a text-only signature has no labels to give them.
"""
import datetime
import json
import os
import tempfile

import tensorflow as tf

import storyvis_tf
from storyvis_tf.json_files import read_json
from storyvis_tf.stage_dirs import EXPORT_KIND, EXPORTS_KIND, RUN_KIND, check_stage_directory
from storyvis_tf.text.vocabulary import PAD_ID, UNK_ID, Vocabulary
from storyvis_tf.training import run_dir as run_dir_lib

SIGNATURE_KEY = "serving_default"
RELATIONS_SIGNATURE_KEY = "relations"
MANIFEST_ASSET, VOCABULARY_ASSET = "manifest.json", "vocab.txt"
# Tokens are runs of letters, digits and underscore: Python's `\w+` (see tokenize_in_graph).
_SEPARATORS = r"[^\p{L}\p{N}_]+"
# The second element of every story's stateless seed (seed_b, _NOISE_STREAM).
_NOISE_STREAM = 0

SIGNATURE_DESCRIPTION = {
    "name": SIGNATURE_KEY,
    "inputs": {
        "sentences": {"dtype": "string", "shape": ["batch", "frames"],
                      "doc": "one story per row; frames must equal frames_per_story"},
        "seed": {"dtype": "int64", "shape": "scalar or [batch]", "default": 0,
                 "doc": "story b's noise is stateless_normal seeded by (seed_b, 0); a scalar "
                        "seed s gives story b the seed s + b"},
    },
    "outputs": {
        "images": {"dtype": "uint8", "shape": ["batch", "frames", "H", "W", 3]},
        "images_bytes": {"dtype": "string", "shape": ["batch", "frames"],
                         "doc": "PNG of each frame"},
    },
}


def relations_signature_description(resolutions) -> dict:
    """The `relations` signature of a BWSA generator whose attention stages run at
    `resolutions` (see the module docstring)."""
    return {
        "name": RELATIONS_SIGNATURE_KEY,
        "inputs": SIGNATURE_DESCRIPTION["inputs"],
        "outputs": {
            "images": SIGNATURE_DESCRIPTION["outputs"]["images"],
            "words": {"dtype": "string", "shape": ["batch", "frames", "L"],
                      "doc": "the tokens the model reads; \"\" is padding"},
            "token_ids": {"dtype": "int32", "shape": ["batch", "frames", "L"]},
            **{f"relations_{r}": {"dtype": "float32", "shape": ["batch", "frames", "L", r, r],
                                  "doc": f"BWSA relation matrix alpha at {r}x{r}, in [-1, 1]"}
               for r in resolutions},
        },
    }


def tokenize_in_graph(sentences: tf.Tensor) -> tf.RaggedTensor:
    """Word tokens of a string tensor [...] -> ragged [..., None]: the graph twin of
    `storyvis_tf.text.vocabulary.tokenize` (lower-case, then runs of `\\w` characters).

    Identical for every character of Unicode 13 (tests/test_export.py sweeps the BMP's scripts
    and symbols); a few hundred characters added in Unicode 14 and 15 (e.g. U+2C2F, U+A7C0, the
    Vithkuqi and Kawi scripts) differ, because TensorFlow's case tables, RE2's character classes
    and Python's Unicode database are of different Unicode versions.
    """
    lowered = tf.strings.lower(sentences, encoding="utf-8")
    return tf.strings.split(tf.strings.regex_replace(lowered, _SEPARATORS, " "))


class _Networks:
    """The Keras networks, held outside SavedModel tracking (a plain object is not tracked)."""

    def __init__(self, text_encoder, generator):
        self.text_encoder = text_encoder
        self.generator = generator


class StoryVisualizationModule(tf.Module):
    """What the SavedModel holds: the text encoder, the generator, the vocabulary table, the
    manifest asset, `generate` (the serving function, see the module docstring) and, when
    `relation_resolutions` names the generator's BWSA stages, `relations` (its signature)."""

    def __init__(self, text_encoder, generator, vocabulary_file: str, manifest_file: str, *,
                 frames_per_story: int, max_sentence_length: int, noise_dim: int,
                 relation_resolutions: tuple[int, ...] = ()):
        super().__init__(name="story_visualization")
        # The SavedModel tracks the weights as a flat list (as keras.export.ExportArchive does),
        # not the Keras layer trees, whose structure SavedModel tracking need not support.
        self._networks = _Networks(text_encoder, generator)
        self.model_variables = [*text_encoder.variables, *generator.variables]
        self.vocabulary = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                vocabulary_file, key_dtype=tf.string, key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
                value_dtype=tf.int64, value_index=tf.lookup.TextFileIndex.LINE_NUMBER),
            default_value=UNK_ID)
        self.manifest = tf.saved_model.Asset(manifest_file)
        self._frames_per_story = frames_per_story
        self._max_sentence_length = max_sentence_length
        self._noise_dim = noise_dim
        self._relation_resolutions = tuple(relation_resolutions)
        if self._relation_resolutions:
            self.relations = tf.function(
                self._relation_maps,
                input_signature=[tf.TensorSpec([None, None], tf.string, name="sentences"),
                                 tf.TensorSpec(None, tf.int64, name="seed")])

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="sentences"),
                                  tf.TensorSpec(None, tf.int64, name="seed")])
    def generate(self, sentences, seed=tf.constant(0, tf.int64)):
        """The serving function: {"images", "images_bytes"} of the stories (module docstring)."""
        _, outputs = self._stories(sentences, seed)
        pixels = _pixels(outputs["images"])
        flat = tf.reshape(pixels, tf.concat([[-1], tf.shape(pixels)[2:]], axis=0))
        png = tf.map_fn(tf.io.encode_png, flat, fn_output_signature=tf.string)
        return {"images": pixels, "images_bytes": tf.reshape(png, tf.shape(pixels)[:2])}

    def _relation_maps(self, sentences, seed=tf.constant(0, tf.int64)):
        """The `relations` signature: images, words, token ids and each BWSA stage's relation
        matrix as per-word maps [batch, frames, L, r, r] (module docstring)."""
        token_ids, outputs = self._stories(sentences, seed)
        length = self._max_sentence_length
        words = tokenize_in_graph(sentences).to_tensor(default_value="",
                                                       shape=[None, None, length])
        maps = {"images": _pixels(outputs["images"]), "words": words, "token_ids": token_ids}
        stories_frames = tf.shape(sentences)
        for r in self._relation_resolutions:
            # [B*T, r*r, L] (regions in row-major order) -> [B, T, L, r, r]
            alpha = tf.reshape(outputs["relations"][r],
                               tf.concat([stories_frames, [r, r, length]], axis=0))
            maps[f"relations_{r}"] = tf.transpose(alpha, [0, 1, 4, 2, 3])
        return maps

    def _stories(self, sentences, seed):
        """(token ids [B, T, L], the generator's outputs) of a batch of stories, after checking
        that each has frames_per_story sentences."""
        frames = self._frames_per_story
        frames_check = tf.debugging.assert_equal(
            tf.shape(sentences)[1], frames,
            message=f"sentences must be [batch, {frames}]: this generator was trained on stories "
                    f"of {frames} frames (frames_per_story); got another number of sentences")
        with tf.control_dependencies([frames_check]):  # before ensure_shape's terser error
            token_ids = tf.ensure_shape(self.token_ids(sentences),
                                        [None, frames, self._max_sentence_length])
        noise = self.story_noise(seed, tf.shape(sentences)[0])
        return token_ids, run_dir_lib.generation_outputs(
            self._networks.text_encoder, self._networks.generator, token_ids, noise)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="sentences")])
    def token_ids(self, sentences):
        """int32 [batch, frames, max_sentence_length] vocabulary ids of the words, PAD_ID-padded
        or truncated (exported too, so clients can see what the model reads)."""
        ids = tf.ragged.map_flat_values(self.vocabulary.lookup, tokenize_in_graph(sentences))
        ids = ids.to_tensor(default_value=PAD_ID, shape=[None, None, self._max_sentence_length])
        return tf.cast(ids, tf.int32)

    def story_noise(self, seed: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
        """float32 [batch, noise_dim]: story b's noise from the stateless seed (seed_b, 0)."""
        tf.debugging.assert_less_equal(tf.rank(seed), 1,
                                       message="seed must be a scalar or a [batch] vector")
        is_scalar = tf.equal(tf.rank(seed), 0)
        seed = tf.reshape(seed, [-1])
        tf.debugging.assert_equal(
            tf.logical_or(is_scalar, tf.equal(tf.size(seed), batch)), True,
            message="seed must be a scalar or hold one seed per story ([batch])")
        seeds = tf.cond(is_scalar, lambda: seed + tf.range(batch, dtype=tf.int64), lambda: seed)
        return tf.map_fn(
            lambda s: tf.random.stateless_normal(
                [self._noise_dim], seed=tf.stack([s, tf.constant(_NOISE_STREAM, tf.int64)])),
            seeds, fn_output_signature=tf.TensorSpec([self._noise_dim], tf.float32))


def _pixels(images: tf.Tensor) -> tf.Tensor:
    """Images in [-1, 1] -> uint8 [0, 255]."""
    return tf.cast(tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0)), tf.uint8)


def next_version(export_dir: str) -> int:
    """1 + the largest integer version directory in `export_dir` (1 when there is none)."""
    if not os.path.isdir(export_dir):
        return 1
    versions = [int(name) for name in os.listdir(export_dir)
                if name.isdigit() and os.path.isdir(os.path.join(export_dir, name))]
    return max(versions, default=0) + 1


def export_generator(run_dir: str, export_dir: str) -> str:
    """Exports the generator of `run_dir` (a `pipelines.train` run) as EXPORT/<version>/.

    The manifest asset holds: kind, version, vocab_sha256, vocab_size, frames_per_story,
    image_size, max_sentence_length, noise_dim, training (step and epoch of the run), run_dir,
    run_manifest (the run's whole manifest), config (the run's config), signature
    (SIGNATURE_DESCRIPTION), relations_signature (`relations_signature_description` for a BWSA
    generator, else None), exported (UTC time), storyvis_tf_version.

    Returns the version directory. Raises FileNotFoundError / ValueError (from
    `run_dir.load_run`) for an incomplete or inconsistent run directory, StageDirectoryError
    (a ValueError) when run_dir or export_dir is another stage's directory.
    """
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"run directory {run_dir} does not exist (the --output_dir of "
                                "`python -m pipelines.train`)")
    check_stage_directory(run_dir, RUN_KIND, "--run_dir")
    check_stage_directory(export_dir, EXPORTS_KIND, "--export_dir")
    config_path = os.path.join(run_dir, run_dir_lib.CONFIG)
    if (os.path.isfile(config_path)
            and read_json(config_path)["generator"]["use_character_labels"]):
        raise ValueError(f"{config_path}: generator.use_character_labels is on, so the generator "
                         "needs per-frame character labels, which the text-only serving "
                         "signature cannot give it")
    config, run_manifest, vocabulary, text_encoder, generator = run_dir_lib.load_run(run_dir)
    relation_resolutions = (tuple(sorted(generator.attention_stages))
                            if config.generator.attention == "bwsa" else ())
    version = next_version(export_dir)
    manifest = {
        "kind": EXPORT_KIND,
        "version": version,
        "vocab_sha256": vocabulary.sha256(),
        "vocab_size": len(vocabulary),
        "frames_per_story": config.data.frames_per_story,
        "image_size": config.data.image_size,
        "max_sentence_length": run_manifest["max_sentence_length"],
        "noise_dim": config.generator.noise_dim,
        "training": {"step": run_manifest.get("step"), "epoch": run_manifest.get("epoch")},
        "run_dir": os.path.abspath(run_dir),
        "run_manifest": run_manifest,
        "config": config.to_dict(),
        "signature": SIGNATURE_DESCRIPTION,
        "relations_signature": (relations_signature_description(relation_resolutions)
                                if relation_resolutions else None),
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "storyvis_tf_version": storyvis_tf.__version__,
    }
    os.makedirs(export_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as sources:
        vocabulary_file = os.path.join(sources, VOCABULARY_ASSET)
        manifest_file = os.path.join(sources, MANIFEST_ASSET)
        vocabulary.save(vocabulary_file)
        with open(manifest_file, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, sort_keys=True, default=str)
        module = StoryVisualizationModule(
            text_encoder, generator, vocabulary_file, manifest_file,
            frames_per_story=config.data.frames_per_story,
            max_sentence_length=run_manifest["max_sentence_length"],
            noise_dim=config.generator.noise_dim, relation_resolutions=relation_resolutions)
        signatures = {SIGNATURE_KEY: module.generate}
        if relation_resolutions:
            signatures[RELATIONS_SIGNATURE_KEY] = module.relations
        staging = tempfile.mkdtemp(prefix=f".staging-{version}-", dir=export_dir)
        tf.saved_model.save(module, staging, signatures=signatures)
    version_dir = os.path.join(export_dir, str(version))
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide the model from a TF Serving user
    try:
        os.rename(staging, version_dir)
    except OSError as error:
        raise FileExistsError(f"{version_dir} appeared while exporting (another export into "
                              f"{export_dir}?); the SavedModel stays in {staging}") from error
    return version_dir


def load_export(version_dir: str) -> tuple[tf.Module, dict]:
    """(the loaded SavedModel, its manifest) of an exported version directory: what everything
    that generates from an export (evaluate, generate, serve) loads it with, so each gets the
    checks of `read_export_manifest` (an edited assets/vocab.txt would silently change the
    words the model reads: its lookup table is built from that file at load time)."""
    manifest = read_export_manifest(version_dir)
    return tf.saved_model.load(version_dir), manifest


def read_export_manifest(version_dir: str) -> dict:
    """The manifest of an exported version directory; clear errors when it is not one, or when
    its assets/vocab.txt does not match the manifest's vocab_sha256."""
    if not os.path.isdir(version_dir):
        raise FileNotFoundError(f"exported model directory {version_dir} does not exist (give "
                                "EXPORT/<version>, written by `python -m pipelines.export`)")
    path = os.path.join(version_dir, "assets", MANIFEST_ASSET)
    if not os.path.isfile(os.path.join(version_dir, "saved_model.pb")) or not os.path.isfile(path):
        raise FileNotFoundError(f"{version_dir} is not an exported generator: it needs "
                                f"saved_model.pb and {path} (give EXPORT/<version>, not EXPORT)")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("kind") != EXPORT_KIND:
        raise ValueError(f"{path} is not a generator-export manifest (kind "
                         f"{manifest.get('kind')!r}, expected {EXPORT_KIND!r})")
    vocabulary_path = os.path.join(version_dir, "assets", VOCABULARY_ASSET)
    if (not os.path.isfile(vocabulary_path)
            or Vocabulary.load(vocabulary_path).sha256() != manifest["vocab_sha256"]):
        raise ValueError(f"{vocabulary_path} is missing or does not match vocab_sha256 of {path}: "
                         "the export's vocabulary was changed after export; export the run again")
    return manifest
