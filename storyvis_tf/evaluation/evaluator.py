"""Scores an EXPORTED generator (`python -m pipelines.evaluate`): the SavedModel a user would
serve, loaded with `tf.saved_model.load`, never the training checkpoint.

Protocol (DATASETS.md Sec. 5). Story i of the split, in stored order, is generated from its
sentences with the seed `config.seed + i`, in batches of `eval.batch_size`; the uint8 frames the
model returns (what a client receives) are scored against the split's real frames:
- `fid` (Inception-v3 pool features, frames pooled over all stories) and `fsd` (R(2+1)D-18
  features of the 5-frame stories) when `eval.inception_weights` / `eval.r2plus1d_weights` name
  local weights. Without them the report says so and gives `fid_domain` / `fsd_domain`, the same
  Fréchet distance over networks trained on the dataset's real training stories
  (`domain_features`): comparable between models on this dataset only, never with published FID.
- `character_f1`, `frame_accuracy`: the domain frame network, a multi-label character classifier
  trained on real training frames, run on the generated frames against each sentence's
  ground-truth characters (the field uses a fine-tuned Inception-v3 instead).
- `cosine` (x100, the main paper's Cosine: generated frame vs its sentence) and `r_precision`
  (story image vs story text, 1 true among `pretrain.r_precision_candidates`, over
  `pretrain.r_precision_trials` trials) with the encoders of a `pipelines.pretrain` run, in the
  space its objective aligned, when a pretrained directory is given.
- The ceiling of each classifier or encoder metric: the same metric on the split's REAL frames.
- Baselines that no model needs to draw anything to reach: `label_prior` (character F1 and
  frame accuracy of predicting, for every frame, the characters present in at least half of
  the training frames: `character_metrics.label_prior_baseline`) and `chance` (R-precision of
  embeddings unrelated to their stories: `retrieval.r_precision_chance`).

Reference statistics of the real frames/stories are cached in `eval.statistics_cache_dir`
(default OUTPUT/../eval_cache, beside the evaluation: never inside the input data, which may be
read-only or shared) under a key of everything that produced them (`statistics_cache`); the
trained domain networks are cached there too, keyed by the data manifest and their training
settings, so every model evaluated on the same data is scored by the same networks.

Outputs: OUTPUT/metrics.json (metrics, ceilings, baselines, what was not computed and why,
extractors, figures, provenance, timings), OUTPUT/samples/<i>_<story_id>.png (real frames over
generated ones, with the sentences) and, with the pretrained encoders, OUTPUT/tsne.png (the main
paper's Fig. 4 for the first `eval.tsne_stories` generated stories: `tsne`).
"""
import dataclasses
import datetime
import os
import shutil
import tempfile
import time
from collections.abc import Callable

import keras
import ml_collections
import numpy as np
import tensorflow as tf
from PIL import Image

import storyvis_tf
from storyvis_tf.data.loader import load_dataset, read_manifest
from storyvis_tf.evaluation import domain_features
from storyvis_tf.evaluation.character_metrics import (character_f1_and_frame_accuracy,
                                                      label_prior_baseline)
from storyvis_tf.evaluation.frechet import frechet_distance_from_statistics
from storyvis_tf.evaluation.inception import InceptionFeatures
from storyvis_tf.evaluation.r2plus1d import R2Plus1DFeatures
from storyvis_tf.evaluation.retrieval import mean_cosine, r_precision, r_precision_chance
from storyvis_tf.evaluation.statistics_cache import FeatureStatistics, cache_key, load_or_compute
from storyvis_tf.evaluation.tsne import write_story_tsne
from storyvis_tf.export.savedmodel import SIGNATURE_KEY, load_export, read_export_manifest
from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.stage_dirs import (EVALUATION_KIND, StageDirectoryError, check_stage_directory,
                                    check_writable, claim_stage_directory)
from storyvis_tf.training import pretrained as pretrained_lib
from storyvis_tf.training.pretrain import EncoderPretrainer
from storyvis_tf.visualization import story_grid, to_uint8

METRICS_FILE, SAMPLES_DIR, TSNE_FILE = "metrics.json", "samples", "tsne.png"
DOMAIN_NETWORKS_DIR = "domain_networks"
# Settings of `config.eval` read here beyond those configs/default.py defines; a config without
# them gets these values.
EVAL_DEFAULTS = {
    "statistics_cache_dir": "",    # statistics and domain networks; "" = OUTPUT/../eval_cache
    "sample_stories": 8,           # real-vs-generated PNGs written
    "tsne_stories": 16,            # generated stories in the t-SNE figure (Fig. 4); 0: none
}


class EvaluateArgumentError(ValueError):
    """The arguments cannot give an evaluation; raised before any work."""


@dataclasses.dataclass(frozen=True)
class Stories:
    """Stories of a split as NumPy arrays: frames uint8 [N, T, H, W, 3], labels float32
    [N, T, C], token_ids int32 [N, T, L], sentences bytes [N, T], story_ids str [N]."""
    frames: np.ndarray
    labels: np.ndarray
    token_ids: np.ndarray
    sentences: np.ndarray
    story_ids: list[str]


def eval_settings(config: ml_collections.ConfigDict) -> dict:
    """config.eval with EVAL_DEFAULTS for the keys it lacks."""
    return {**EVAL_DEFAULTS, **config.eval.to_dict()}


def default_cache_dir(output_dir: str) -> str:
    """OUTPUT/../eval_cache: shared by the evaluations written beside OUTPUT."""
    return os.path.join(os.path.dirname(os.path.abspath(output_dir)), "eval_cache")


def check_arguments(model_dir: str, data_dir: str, split: str, output_dir: str, *,
                    overwrite: bool = False, pretrained_dir: str = "") -> tuple[dict, dict]:
    """(model manifest, data manifest); EvaluateArgumentError naming what is wrong."""
    if not output_dir:
        raise EvaluateArgumentError("output_dir is required: where metrics.json and the samples go")
    try:
        check_stage_directory(output_dir, EVALUATION_KIND)
    except StageDirectoryError as error:
        raise EvaluateArgumentError(str(error)) from None
    metrics_path = os.path.join(output_dir, METRICS_FILE)
    if os.path.exists(metrics_path) and not overwrite:
        raise EvaluateArgumentError(f"{metrics_path} exists: choose another output_dir or pass "
                                    "--overwrite")
    if pretrained_dir and not os.path.isdir(pretrained_dir):
        raise EvaluateArgumentError(f"pretrained_dir {pretrained_dir} does not exist (the "
                                    "--output_dir of `python -m pipelines.pretrain`)")
    try:
        model_manifest = read_export_manifest(model_dir)
        data_manifest = read_manifest(data_dir)
    except (FileNotFoundError, ValueError) as error:  # DatasetFormatError is a ValueError
        raise EvaluateArgumentError(str(error)) from None
    if split not in data_manifest["splits"]:
        raise EvaluateArgumentError(f"split {split!r} is not in {data_dir} (splits: "
                                    f"{', '.join(data_manifest['splits'])})")
    if data_manifest["splits"][split] < 2:
        raise EvaluateArgumentError(f"split {split!r} of {data_dir} has "
                                    f"{data_manifest['splits'][split]} stories; Fréchet distances "
                                    "need at least 2")
    check_model_matches_data(model_manifest, data_manifest, model_dir, data_dir)
    return model_manifest, data_manifest


def check_model_matches_data(model_manifest: dict, data_manifest: dict, model_dir: str,
                             data_dir: str) -> None:
    """Raises EvaluateArgumentError when the exported model was not trained on this data's
    vocabulary, frame size or story length (its outputs would be scored against the wrong
    sentences)."""
    if model_manifest["vocab_sha256"] != data_manifest["vocab_sha256"]:
        raise EvaluateArgumentError(
            f"vocabulary mismatch: the model in {model_dir} was trained with vocab_sha256 "
            f"{model_manifest['vocab_sha256'][:12]}..., the data in {data_dir} was preprocessed "
            f"with {data_manifest['vocab_sha256'][:12]}...: evaluate on the data the model was "
            "trained on")
    for key in ("image_size", "frames_per_story"):
        if model_manifest[key] != data_manifest[key]:
            raise EvaluateArgumentError(f"{key} mismatch: the model in {model_dir} has "
                                        f"{model_manifest[key]}, the data in {data_dir} has "
                                        f"{data_manifest[key]}")


def read_stories(data_dir: str, split: str, limit: int, batch_size: int) -> Stories:
    """The first `limit` stories of `split` in stored order (all of them when limit is 0)."""
    parts = {key: [] for key in ("images", "labels", "token_ids", "sentences", "story_id")}
    count = 0
    for batch in load_dataset(data_dir, split, batch_size).as_numpy_iterator():
        batch["images"] = to_uint8(batch["images"])  # a quarter of float32's memory
        for key in parts:
            parts[key].append(batch[key])
        count += len(batch["story_id"])
        if limit and count >= limit:
            break
    columns = {key: np.concatenate(values)[:limit or None] for key, values in parts.items()}
    return Stories(frames=columns["images"], labels=columns["labels"],
                   token_ids=columns["token_ids"], sentences=columns["sentences"],
                   story_ids=[story_id.decode("utf-8") for story_id in columns["story_id"]])


def generate_stories(model, sentences: np.ndarray, seeds: np.ndarray, batch_size: int,
                     verbose: bool = True) -> np.ndarray:
    """uint8 [N, T, H, W, 3] from the exported model's serving signature; story i gets seeds[i]."""
    serve = model.signatures[SIGNATURE_KEY]
    progress = keras.utils.Progbar(len(sentences), unit_name="story", verbose=int(verbose))
    stories = []
    for start in range(0, len(sentences), batch_size):
        rows = slice(start, start + batch_size)
        outputs = serve(sentences=tf.constant(sentences[rows]),
                        seed=tf.constant(seeds[rows], tf.int64))
        stories.append(outputs["images"].numpy())
        progress.add(len(stories[-1]))
    return np.concatenate(stories)


def evaluate(model_dir: str, data_dir: str, split: str, output_dir: str,
             config: ml_collections.ConfigDict, *, pretrained_dir: str = "",
             overwrite: bool = False, verbose: bool = True,
             log: Callable[[str], None] = print) -> dict:
    """Evaluates the exported model `model_dir` (EXPORT/<version>) on `split` of the
    preprocessed `data_dir` and writes `output_dir` (see the module docstring).

    config: an experiment config, of which the evaluator reads the `eval` section (EVAL_DEFAULTS
    for missing keys) and `seed` (generation seeds, domain-network training); the pretrained
    encoders are built from their pretraining run's own config.
    Returns the report written to metrics.json. Raises EvaluateArgumentError, before any work,
    for unusable arguments: a missing model/data/pretrained directory, a vocabulary, frame size
    or story length that differs between model and data, an unloadable weights file.
    """
    started = time.perf_counter()
    model_manifest, data_manifest = check_arguments(model_dir, data_dir, split, output_dir,
                                                    overwrite=overwrite,
                                                    pretrained_dir=pretrained_dir)
    settings = eval_settings(config)
    cache_dir = settings["statistics_cache_dir"] or default_cache_dir(output_dir)
    try:  # before hours of work
        check_writable(output_dir, "--output_dir")
        check_writable(cache_dir, "eval.statistics_cache_dir")
    except StageDirectoryError as error:
        raise EvaluateArgumentError(str(error)) from None
    claim_stage_directory(output_dir, EVALUATION_KIND)
    # Extractors with user weights first: a wrong weights file fails before minutes of work.
    frechet_extractors, not_computed = {}, {}
    for name, key, extractor_class, network in (
            ("fid", "inception_weights", InceptionFeatures, "Inception-v3"),
            ("fsd", "r2plus1d_weights", R2Plus1DFeatures, "R(2+1)D-18")):
        if not settings[key]:
            not_computed[name] = (f"no {network} weights given (--{key} / eval.{key}); "
                                  f"{name}_domain is reported instead")
            continue
        try:
            frechet_extractors[name] = extractor_class(settings[key],
                                                       batch_size=settings["batch_size"])
        except (FileNotFoundError, ValueError) as error:
            raise EvaluateArgumentError(f"--{key} / eval.{key}: {error}") from error
    encoders = _load_encoders(pretrained_dir, data_manifest) if pretrained_dir else None

    log(f"reading {split} stories of {data_dir}")
    real = read_stories(data_dir, split, settings["num_samples"], settings["batch_size"])
    seeds = config.seed + np.arange(len(real.story_ids), dtype=np.int64)
    log(f"generating {len(seeds)} stories with {model_dir}")
    generation_started = time.perf_counter()
    generated = generate_stories(load_export(model_dir)[0], real.sentences, seeds,
                                 settings["batch_size"], verbose)
    generation_seconds = time.perf_counter() - generation_started

    metrics, ceiling, baselines = {}, {}, {}
    data_identity = {"dataset": data_manifest["dataset"], "split": split,
                     "image_size": data_manifest["image_size"],
                     "num_samples": settings["num_samples"],
                     "code_version": storyvis_tf.__version__,
                     "data_manifest_sha256": cache_key(data_manifest)}
    if data_manifest["label_names"]:
        frame_network = _domain_network("frame", data_dir, data_manifest, settings, config.seed,
                                        cache_dir, log)
        probabilities = frame_network.label_probabilities(_frames(generated))
        metrics.update(character_f1_and_frame_accuracy(probabilities, _frames(real.labels)))
        ceiling.update(character_f1_and_frame_accuracy(
            frame_network.label_probabilities(_frames(real.frames)), _frames(real.labels)))
        prior = label_prior_baseline(_training_labels(data_dir, settings["batch_size"]),
                                     _frames(real.labels))
        baselines["label_prior"] = {
            "character_f1": prior["character_f1"], "frame_accuracy": prior["frame_accuracy"],
            "predicts": [data_manifest["label_names"][i] for i in prior["predicted_characters"]]}
        if "fid" not in frechet_extractors:
            frechet_extractors[domain_features.FID_DOMAIN] = frame_network
        if "fsd" not in frechet_extractors:
            frechet_extractors[domain_features.FSD_DOMAIN] = _domain_network(
                "story", data_dir, data_manifest, settings, config.seed, cache_dir, log)
    else:
        reason = f"{data_dir} has no character labels to train the classifier on"
        not_computed.update({name: reason for name in ("character_f1", "frame_accuracy")})
        if "fid" not in frechet_extractors:
            not_computed[domain_features.FID_DOMAIN] = reason
        if "fsd" not in frechet_extractors:
            not_computed[domain_features.FSD_DOMAIN] = reason

    for name, extractor in frechet_extractors.items():
        per_frame = name in ("fid", domain_features.FID_DOMAIN)
        log(f"computing {name}")
        metrics[name] = _frechet_distance(
            extractor, real.frames, generated, per_frame,
            {**data_identity, "unit": "frames" if per_frame else "stories"}, cache_dir)

    figures = {}
    if encoders is None:
        not_computed.update({name: "no --pretrained_dir: Cosine and R-precision need the "
                                   "encoders of a `pipelines.pretrain` run"
                             for name in ("cosine", "r_precision")})
        not_computed["tsne"] = ("no --pretrained_dir: the t-SNE figure embeds frames with the "
                                "pretrained image encoder")
    else:
        if settings["tsne_stories"]:
            log("t-SNE of the generated frames' global features (tsne.png)")
            figures["tsne"] = os.path.join(output_dir, TSNE_FILE)
            write_story_tsne(figures["tsne"], encoders["embed"].image_encoder,
                             generated[:settings["tsne_stories"]], settings["batch_size"],
                             config.seed)
        log("computing cosine and r_precision with the pretrained encoders")
        candidates = encoders["candidates"]
        for frames, scores in ((generated, metrics), (real.frames, ceiling)):
            scores.update(_alignment(encoders, frames, real.token_ids, settings["batch_size"],
                                     candidates, encoders["trials"], config.seed))
        if len(real.story_ids) < candidates:
            not_computed["r_precision"] = (f"R-precision ranks each story among {candidates} "
                                           f"candidates, the evaluated split has "
                                           f"{len(real.story_ids)} stories")
        else:
            baselines["chance"] = {"r_precision": r_precision_chance(len(real.story_ids),
                                                                     candidates)}

    _write_samples(output_dir, real, generated, seeds, settings["sample_stories"])
    report = {
        "metrics": metrics,
        "real_data_ceiling": ceiling,
        "baselines": baselines,
        "not_computed": not_computed,
        "figures": figures,
        "extractors": {name: extractor.identity for name, extractor in frechet_extractors.items()},
        "provenance": {
            "model_dir": os.path.abspath(model_dir),
            "model_manifest": model_manifest,
            "data_dir": os.path.abspath(data_dir),
            "data_manifest": data_manifest,
            "split": split,
            "stories": len(real.story_ids),
            "frames": int(np.prod(generated.shape[:2])),
            "generation_seeds": f"config.seed + story index = {int(seeds[0])}.."
                                f"{int(seeds[-1])}",
            "pretrained_dir": os.path.abspath(pretrained_dir) if pretrained_dir else None,
            "pretrained_manifest": encoders["manifest"] if encoders else None,
            "statistics_cache_dir": os.path.abspath(cache_dir),
            "eval_settings": settings,
            "storyvis_tf_version": storyvis_tf.__version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
        "timing_s": {"generation": generation_seconds,
                     "total": time.perf_counter() - started},
    }
    write_json(os.path.join(output_dir, METRICS_FILE), report)
    return report


def summary_table(report: dict) -> str:
    """One screen: each metric for the generated stories next to its real-data ceiling and its
    image-blind baseline, then what was not computed and why."""
    provenance = report["provenance"]
    baselines = report["baselines"]
    baseline_of = {metric: (name, value) for name, scores in baselines.items()
                   for metric, value in scores.items() if isinstance(value, float)}
    lines = [f"{provenance['model_dir']} on {provenance['split']} of {provenance['data_dir']}: "
             f"{provenance['stories']} stories, {provenance['frames']} frames",
             f"{'metric':<16}{'generated':>12}{'real frames':>14}{'baseline':>24}"]
    for name, value in report["metrics"].items():
        ceiling = report["real_data_ceiling"].get(name)
        baseline = (f"{baseline_of[name][1]:.4f} ({baseline_of[name][0]})"
                    if name in baseline_of else "-")
        lines.append(f"{name:<16}{value:>12.4f}" + (f"{ceiling:>14.4f}" if ceiling is not None
                                                    else f"{'-':>14}") + f"{baseline:>24}")
    if "label_prior" in baselines:
        predicts = ", ".join(baselines["label_prior"]["predicts"]) or "no character"
        lines.append("label_prior: predicts the characters of at least half the training frames "
                     f"for every frame, ignoring it: {predicts}")
    for name, reason in report["not_computed"].items():
        lines.append(f"{name}: not computed: {reason}")
    if any(name.endswith("_domain") for name in report["metrics"]):
        lines.append("*_domain: Fréchet distances over networks trained on this dataset; "
                     "comparable between models on it, not with published FID/FSD")
    return "\n".join(lines)


def _frames(stories: np.ndarray) -> np.ndarray:
    """[N, T, ...] -> [N*T, ...]."""
    return stories.reshape(-1, *stories.shape[2:])


def _training_labels(data_dir: str, batch_size: int) -> np.ndarray:
    """Character labels of every training frame, float32 [frames, C]."""
    labels = [batch["labels"] for batch in
              load_dataset(data_dir, "train", batch_size).as_numpy_iterator()]
    return _frames(np.concatenate(labels))


def _frechet_distance(extractor, real: np.ndarray, generated: np.ndarray, per_frame: bool,
                      key_fields: dict, cache_dir: str) -> float:
    """Fréchet distance between the (cached) real statistics and the generated ones."""
    if isinstance(extractor, domain_features.DomainExtractor):
        features = extractor.features
    else:  # InceptionFeatures, R2Plus1DFeatures: called on pixels
        features = extractor
    if per_frame:
        real, generated = _frames(real), _frames(generated)
    reference = load_or_compute(cache_dir, {**key_fields, "extractor": extractor.identity},
                                lambda: FeatureStatistics.from_features(features(real)))
    ours = FeatureStatistics.from_features(features(generated))
    return frechet_distance_from_statistics(reference.mu, reference.sigma, ours.mu, ours.sigma)


def _domain_network(kind: str, data_dir: str, data_manifest: dict, settings: dict, seed: int,
                    cache_dir: str, log) -> domain_features.DomainExtractor:
    """The domain frame ("frame": fid_domain + classifier) or story ("story": fsd_domain)
    network, trained on the real training stories once per data and settings, then cached."""
    training = {"epochs": settings["domain_epochs"], "batch_size": settings["domain_batch_size"],
                "learning_rate": settings["domain_learning_rate"],
                "width": settings["domain_width"], "feature_dim": settings["domain_feature_dim"],
                "seed": seed}
    key_fields = {"network": kind, "data_manifest_sha256": cache_key(data_manifest),
                  "train_stories": settings["domain_train_stories"], "training": training,
                  "code_version": storyvis_tf.__version__}
    directory = os.path.join(cache_dir, DOMAIN_NETWORKS_DIR, cache_key(key_fields))
    name = domain_features.FID_DOMAIN if kind == "frame" else domain_features.FSD_DOMAIN
    if os.path.isdir(directory):
        log(f"{name}: cached network {directory}")
        return domain_features.DomainExtractor(
            name, *(keras.saving.load_model(os.path.join(directory, f"{part}.keras"),
                                            compile=False) for part in ("features", "labels")),
            batch_size=settings["domain_batch_size"])

    train = read_stories(data_dir, "train", settings["domain_train_stories"],
                         settings["domain_batch_size"])
    log(f"{name}: training the domain {kind} network on {len(train.story_ids)} real training "
        f"stories ({settings['domain_epochs']} epochs)")
    if kind == "frame":
        network = domain_features.train_frame_extractor(_frames(train.frames),
                                                        _frames(train.labels), **training)
    else:
        network = domain_features.train_story_extractor(train.frames, train.labels, **training)
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".staging-", dir=os.path.dirname(directory))
    network.feature_model.save(os.path.join(staging, "features.keras"))
    network.label_model.save(os.path.join(staging, "labels.keras"))
    write_json(os.path.join(staging, "key.json"), key_fields)
    try:
        os.rename(staging, directory)
    except OSError:  # another evaluation cached the same network meanwhile
        shutil.rmtree(staging)
    return network


def _load_encoders(pretrained_dir: str, data_manifest: dict) -> dict:
    """The pretrained encoders as an EncoderPretrainer (whose call embeds stories in the space
    its objective aligned), built from the pretraining run's own config."""
    config_path = os.path.join(pretrained_dir, pretrained_lib.CONFIG)
    if not os.path.isfile(config_path):
        raise EvaluateArgumentError(f"{config_path} not found: {pretrained_dir} is not a complete "
                                    "output of `python -m pipelines.pretrain`")
    try:
        config = ml_collections.ConfigDict(read_json(config_path))
        loaded = pretrained_lib.load_pretrained(pretrained_dir, config,
                                                expected_vocab_sha256=data_manifest["vocab_sha256"])
    except (FileNotFoundError, ValueError) as error:
        raise EvaluateArgumentError(str(error)) from None
    if loaded["manifest"]["image_size"] != data_manifest["image_size"]:
        raise EvaluateArgumentError(f"the encoders in {pretrained_dir} were pretrained on "
                                    f"{loaded['manifest']['image_size']}-pixel frames, the data "
                                    f"has {data_manifest['image_size']}")
    networks = {name: loaded[name] for name in pretrained_lib.ENCODER_WEIGHTS}
    # Embedding only: pretraining's character heads (pretrain.character_weight) are not saved,
    # and runs older than that switch do not have it.
    config.pretrain.character_weight = 0.0
    return {"embed": EncoderPretrainer(networks, config, name="pretrained_encoders"),
            "candidates": config.pretrain.r_precision_candidates,
            "trials": config.pretrain.r_precision_trials, "manifest": loaded["manifest"]}


def _alignment(encoders: dict, frames: np.ndarray, token_ids: np.ndarray, batch_size: int,
               candidates: int, trials: int, seed: int) -> dict:
    """Cosine x100 (frame vs its sentence) and, with enough stories, R-precision (story image vs
    story text) of uint8 stories [N, T, H, W, 3] under the pretrained encoders."""
    inputs = tf.data.Dataset.from_tensor_slices(
        {"images": frames, "token_ids": token_ids}).batch(batch_size).map(
        lambda batch: {**batch, "images": tf.cast(batch["images"], tf.float32) / 127.5 - 1.0})
    embedded = encoders["embed"].predict(inputs, verbose=0)
    dim = embedded["image"].shape[-1]
    scores = {"cosine": mean_cosine(embedded["image"].reshape(-1, dim),
                                    embedded["sentence"].reshape(-1, dim))}
    if len(frames) >= candidates:
        scores["r_precision"] = r_precision(embedded["story_image"], embedded["story_sentence"],
                                            candidates, trials, seed)
    return scores


def _write_samples(output_dir: str, real: Stories, generated: np.ndarray, seeds: np.ndarray,
                   count: int) -> None:
    """OUTPUT/samples/<i>_<story_id>.png: the real frames under their sentences, above the
    generated frames."""
    directory = os.path.join(output_dir, SAMPLES_DIR)
    os.makedirs(directory, exist_ok=True)
    for i in range(min(count, len(generated))):
        sentences = [sentence.decode("utf-8") for sentence in real.sentences[i]]
        frames = len(sentences)
        grid = story_grid(np.stack([real.frames[i], generated[i]]),
                          [[f"real: {s}" for s in sentences],
                           [f"generated (seed {seeds[i]})"] * frames])
        safe_id = "".join(c if c.isalnum() or c in "-_" else "_" for c in real.story_ids[i])
        Image.fromarray(grid).save(os.path.join(directory, f"{i:04d}_{safe_id}.png"))
