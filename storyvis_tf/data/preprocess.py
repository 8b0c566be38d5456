"""Apache Beam preprocessing: a dataset reader's stories -> sharded TFRecords, vocabulary,
dead-letter lines and a manifest (layout in `storyvis_tf.data.schema`).

List every split's story refs on the driver; in workers, load and check each story (stage
"load"), build the vocabulary from the training split's sentences (a CombineGlobally), serialise
every story with the vocabulary as a side input (stage "serialise", out-of-vocabulary words ->
UNK), write each split's shards. A story that fails at either stage goes to the dead letter
(`rejected/`, one JSON line each) and the run continues. Counts come back from Beam as a small
text output read after the pipeline has finished, so the manifest holds exact numbers on every
runner.

Runs on any Beam runner via `pipeline_args`; without `--runner` it uses DEFAULT_RUNNER_ARGS, which
download nothing (recent DirectRunners otherwise try to fetch the Prism binary).
"""
import collections
import datetime
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
from absl import logging
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import create_runner

import storyvis_tf
from storyvis_tf.config_checks import check_image_size
from storyvis_tf.data import schema
from storyvis_tf.data.errors import BadStoryError
from storyvis_tf.data.readers import DATASETS, make_reader, reader_class
from storyvis_tf.data.readers.base import SPLITS, StoryReader
from storyvis_tf.data.story import Story, StoryRef
from storyvis_tf.stage_dirs import DATA_KIND, check_stage_directory, claim_stage_directory
from storyvis_tf.text.vocabulary import Vocabulary, tokenize

DEFAULT_RUNNER_ARGS = ("--runner=DirectRunner", "--direct_running_mode=in_memory")
COMPRESSIONS = {"none": CompressionTypes.UNCOMPRESSED, "gzip": CompressionTypes.GZIP}
_COUNTS_FILE = "_counts.jsonl"  # Beam's counts, folded into the manifest and then removed
_REJECTED_PREFIX, _REJECTED_SUFFIX = os.path.join(schema.REJECTED_DIR, "rejected"), ".jsonl"


def check_story(story: Story, ref: StoryRef, *, frames_per_story: int, image_size: int,
                num_labels: int) -> None:
    """Raise BadStoryError when a loaded story does not fit the dataset's declared shape."""
    source = f"{ref.dataset}/{ref.split}/{ref.story_id}"
    if story.story_id != ref.story_id:
        raise BadStoryError(source, f"reader returned story {story.story_id!r}")
    if len(story.sentences) != frames_per_story:
        raise BadStoryError(source, f"{len(story.sentences)} frames, the dataset has "
                                    f"{frames_per_story} per story")
    if story.frames.shape[1:3] != (image_size, image_size):
        raise BadStoryError(source, f"frames are {story.frames.shape[1]}x{story.frames.shape[2]}, "
                                    f"expected {image_size}x{image_size}")
    if story.labels.shape[1] != num_labels:
        raise BadStoryError(source, f"{story.labels.shape[1]} labels per frame, the dataset has "
                                    f"{num_labels}")
    if not np.isin(story.labels, (0.0, 1.0)).all():
        raise BadStoryError(source, "labels are not multi-hot (values other than 0 and 1)")
    for t, sentence in enumerate(story.sentences):
        if not tokenize(sentence):
            raise BadStoryError(source, f"sentence of frame {t} has no words: {sentence!r}")


def _load_checked_story(ref: StoryRef, reader: StoryReader, image_size: int
                        ) -> tuple[StoryRef, Story]:
    story = reader.load_story(ref)
    check_story(story, ref, frames_per_story=reader.frames_per_story, image_size=image_size,
                num_labels=len(reader.label_names))
    return ref, story


class VocabularyFn(beam.CombineFn):
    """Word counts of the training sentences -> `Vocabulary.from_counts(counts, min_count)`."""

    def __init__(self, min_count: int):
        self.min_count = min_count

    def create_accumulator(self) -> collections.Counter:
        return collections.Counter()

    def add_input(self, counts: collections.Counter, sentence: str) -> collections.Counter:
        counts.update(tokenize(sentence))
        return counts

    def merge_accumulators(self, accumulators) -> collections.Counter:
        merged = collections.Counter()
        for counts in accumulators:
            merged.update(counts)
        return merged

    def extract_output(self, counts: collections.Counter) -> Vocabulary:
        return Vocabulary.from_counts(counts, self.min_count)


def _exception_message(exception_type: type, exception_repr: str, traceback_lines: list[str]
                       ) -> str:
    """str(exception): Beam's dead letter keeps only the type, repr and formatted traceback, whose
    exception line reads `<qualified type name>: <message>`."""
    name = exception_type.__qualname__
    if exception_type.__module__ not in ("builtins", "__main__"):
        name = f"{exception_type.__module__}.{name}"
    for line in reversed(traceback_lines):
        if line.startswith(name + ": "):
            return line[len(name) + 2:].rstrip("\n")
    return exception_repr


def _rejection_record(ref: StoryRef, error: tuple, stage: str) -> dict[str, Any]:
    """The dead-letter entry of one story from Beam's `(type, repr, traceback lines)` error."""
    exception_type, exception_repr, traceback_lines = error
    return {
        "dataset": ref.dataset,
        "split": ref.split,
        "story_id": ref.story_id,
        "source": ref.payload,
        "stage": stage,
        "reason": _exception_message(exception_type, exception_repr, traceback_lines),
        "exception": f"{exception_type.__module__}.{exception_type.__qualname__}",
        "traceback": "".join(traceback_lines),
    }


def _serialise(ref_story: tuple[StoryRef, Story], vocabulary: Vocabulary) -> tuple[str, bytes]:
    ref, story = ref_story
    return ref.split, schema.story_to_example(story, vocabulary, ref.dataset, ref.split)


def _longest_sentence(story: Story) -> int:
    return max(len(tokenize(s)) for s in story.sentences)


def _story_refs(reader: StoryReader) -> list[StoryRef]:
    refs = []
    for split in SPLITS:
        for ref in reader.story_refs(split):
            if ref.split != split:
                raise ValueError(f"{reader.name} reader listed story {ref.story_id} of split "
                                 f"{ref.split!r} among the {split!r} stories")
            refs.append(ref)
    return refs


def build_pipeline(p: beam.Pipeline, reader: StoryReader, output_dir: str, *, image_size: int,
                   num_shards: int, vocab_min_count: int, compression: str) -> None:
    """Adds the preprocessing transforms to `p` (see the module docstring for what they write).

    All splits flow through one PCollection (each ref knows its split) and are partitioned only
    for writing, which keeps the graph small: Beam's fixed cost grows with the number of steps.
    """
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {sorted(COMPRESSIONS)}, got {compression!r}")
    refs = p | "ListStories" >> beam.Create(_story_refs(reader))
    loaded, load_failures = (refs | "LoadStory" >> beam.Map(
        _load_checked_story, reader, image_size).with_exception_handling())

    train = loaded | "TrainStories" >> beam.Filter(lambda ref_story: ref_story[0].split == "train")
    vocabulary = (train
                  | "vocabulary/Sentences" >> beam.FlatMap(lambda ref_story: ref_story[1].sentences)
                  | "vocabulary/Combine" >> beam.CombineGlobally(VocabularyFn(vocab_min_count)))
    (vocabulary
     | "vocabulary/Lines" >> beam.Map(lambda v: "\n".join(v.words))
     | "vocabulary/Write" >> beam.io.WriteToText(
         os.path.join(output_dir, schema.VOCABULARY_FILE), shard_name_template="", num_shards=1))
    max_sentence_length = (
        train
        | "vocabulary/SentenceLength" >> beam.MapTuple(lambda ref, story: _longest_sentence(story))
        | "vocabulary/MaxSentenceLength" >> beam.CombineGlobally(lambda n: max(n, default=0))
        | "vocabulary/MaxSentenceLengthKey" >> beam.Map(lambda n: ("max_sentence_length", n)))

    records, serialise_failures = (loaded | "Serialise" >> beam.Map(
        _serialise, beam.pvalue.AsSingleton(vocabulary)).with_exception_handling())
    by_split = records | "PartitionBySplit" >> beam.Partition(
        lambda split_record, _: SPLITS.index(split_record[0]), len(SPLITS))
    for split, split_records in zip(SPLITS, by_split):
        (split_records
         | f"{split}/Records" >> beam.Values()
         | f"{split}/Write" >> beam.io.WriteToTFRecord(
             schema.shard_prefix(output_dir, split), file_name_suffix=schema.RECORD_SUFFIX,
             num_shards=num_shards, compression_type=COMPRESSIONS[compression]))

    rejected = (
        (load_failures | "rejected/Load" >> beam.MapTuple(
            lambda ref, error: _rejection_record(ref, error, "load")),
         serialise_failures | "rejected/Serialise" >> beam.MapTuple(
             lambda ref_story, error: _rejection_record(ref_story[0], error, "serialise")))
        | "rejected/Flatten" >> beam.Flatten())
    (rejected
     | "rejected/Json" >> beam.Map(json.dumps, sort_keys=True, default=str)
     | "rejected/Write" >> beam.io.WriteToText(
         os.path.join(output_dir, _REJECTED_PREFIX), file_name_suffix=_REJECTED_SUFFIX,
         num_shards=1))

    story_counts = (
        (records | "counts/Written" >> beam.Map(lambda split_record: f"{split_record[0]}/written"),
         rejected | "counts/Rejected" >> beam.Map(lambda record: f"{record['split']}/rejected"))
        | "counts/FlattenStories" >> beam.Flatten()
        | "counts/PerSplit" >> beam.combiners.Count.PerElement())
    ((story_counts, max_sentence_length)
     | "counts/Flatten" >> beam.Flatten()
     | "counts/Json" >> beam.Map(json.dumps)
     | "counts/Write" >> beam.io.WriteToText(os.path.join(output_dir, _COUNTS_FILE),
                                            shard_name_template="", num_shards=1))


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    """A finished run (its manifest) is replaced only when asked to; another stage's directory
    never (StageDirectoryError)."""
    check_stage_directory(output_dir, DATA_KIND)
    manifest = os.path.join(output_dir, schema.MANIFEST_FILE)
    if FileSystems.exists(manifest) and not overwrite:
        raise FileExistsError(f"{manifest} exists: {output_dir} already holds a preprocessed "
                              "dataset; choose another output_dir or pass --overwrite")


def _remove_previous_run(output_dir: str) -> None:
    """Deletes a finished run's files (manifest first), so no stale shard outlives it.

    Without a manifest nothing is deleted: the loader opens only the shards a manifest names, so
    the files of an interrupted run are harmless, and the directory may hold files not ours.
    """
    manifest = os.path.join(output_dir, schema.MANIFEST_FILE)
    if not FileSystems.exists(manifest):
        return
    FileSystems.delete([manifest])
    patterns = [f"{schema.shard_prefix(output_dir, split)}-?????-of-?????{schema.RECORD_SUFFIX}"
                for split in SPLITS]
    patterns.append(
        os.path.join(output_dir, f"{_REJECTED_PREFIX}-?????-of-?????{_REJECTED_SUFFIX}"))
    patterns.append(os.path.join(output_dir, schema.VOCABULARY_FILE))
    FileSystems.delete([metadata.path for match in FileSystems.match(patterns)
                        for metadata in match.metadata_list])


def _shard_sizes(output_dir: str, num_shards: int) -> dict[str, int]:
    """{shard path relative to output_dir: bytes} of every written shard: lets the loader name
    a shard truncated after preprocessing before it reads a record."""
    return {os.path.relpath(metadata.path, output_dir): metadata.size_in_bytes
            for split in SPLITS
            for match in FileSystems.match(schema.shard_paths(output_dir, split, num_shards))
            for metadata in match.metadata_list}


def _read_counts(output_dir: str) -> dict[str, int]:
    with FileSystems.open(os.path.join(output_dir, _COUNTS_FILE)) as f:
        return dict(json.loads(line) for line in f.read().decode("utf-8").splitlines())


def _read_vocabulary(output_dir: str) -> Vocabulary:
    with FileSystems.open(os.path.join(output_dir, schema.VOCABULARY_FILE)) as f:
        return Vocabulary(line for line in f.read().decode("utf-8").splitlines() if line)


def unknown_pipeline_args(pipeline_args: Sequence[str]) -> list[str]:
    """The arguments of `pipeline_args` that no Beam PipelineOptions class (of the runner they
    name, if any) defines: a typo such as --image_szie=64 that Beam would silently drop."""
    options = PipelineOptions(list(pipeline_args))
    runner = options.view_as(StandardOptions).runner
    if runner:
        create_runner(runner)  # imports the runner's module, which registers its options
    parsers = []
    options.get_all_options(add_extra_args_fn=parsers.append)
    return parsers[0].parse_known_args(list(pipeline_args))[1]


def pipeline_options(pipeline_args: Sequence[str]) -> PipelineOptions:
    """Beam options from command-line args; DEFAULT_RUNNER_ARGS when they name no runner."""
    options = PipelineOptions(list(pipeline_args))
    if options.view_as(StandardOptions).runner is None:
        options = PipelineOptions([*DEFAULT_RUNNER_ARGS, *pipeline_args])
    return options


def preprocess(reader: StoryReader, output_dir: str, *, image_size: int, num_shards: int = 4,
               vocab_min_count: int = 1, compression: str = "none",
               pipeline_args: Sequence[str] = (), config: Mapping[str, Any] | None = None,
               overwrite: bool = False) -> dict[str, Any]:
    """Runs the pipeline over `reader`, writes OUTPUT/manifest.json last and returns it.

    `config` (JSON-serialisable) is recorded in the manifest as what produced the run.
    """
    check_output_dir(output_dir, overwrite)
    _remove_previous_run(output_dir)
    claim_stage_directory(output_dir, DATA_KIND)
    with beam.Pipeline(options=pipeline_options(pipeline_args)) as p:
        build_pipeline(p, reader, output_dir, image_size=image_size, num_shards=num_shards,
                       vocab_min_count=vocab_min_count, compression=compression)

    counts = _read_counts(output_dir)
    vocabulary = _read_vocabulary(output_dir)
    rejected = {split: counts.get(f"{split}/rejected", 0) for split in SPLITS}
    manifest = {
        "kind": DATA_KIND,
        "dataset": reader.name,
        "image_size": image_size,
        "frames_per_story": reader.frames_per_story,
        "splits": {split: counts.get(f"{split}/written", 0) for split in SPLITS},
        "rejected": sum(rejected.values()),
        "rejected_per_split": rejected,
        "vocab_size": len(vocabulary),
        "vocab_sha256": vocabulary.sha256(),
        "max_sentence_length": counts["max_sentence_length"],
        "label_names": list(reader.label_names),
        "num_shards": num_shards,
        "shard_bytes": _shard_sizes(output_dir, num_shards),
        "compression": compression,
        "storyvis_tf_version": storyvis_tf.__version__,
        "config": dict(config or {}),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with FileSystems.create(os.path.join(output_dir, schema.MANIFEST_FILE)) as f:
        f.write(json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))
    FileSystems.delete([os.path.join(output_dir, _COUNTS_FILE)])
    for split, count in manifest["splits"].items():
        if not count:
            logging.warning("the %s split of %s is empty (%d stories rejected): stages that "
                            "need it will refuse this data", split, output_dir, rejected[split])
    return manifest


class PreprocessArgumentError(ValueError):
    """Arguments or the dataset directory cannot produce a dataset; raised before any work."""


def check_arguments(dataset: str, data_dir: str, output_dir: str, image_size: int,
                    overwrite: bool, pipeline_args: Sequence[str] = ()) -> None:
    """Raises PreprocessArgumentError on arguments that cannot produce a dataset."""
    if dataset not in DATASETS:
        raise PreprocessArgumentError(f"unknown dataset {dataset!r}; choose one of "
                                      f"{', '.join(DATASETS)}")
    if not output_dir:
        raise PreprocessArgumentError("output_dir is required: where the TFRecords go")
    if dataset != "synthetic" and not data_dir:
        raise PreprocessArgumentError(f"data_dir is required for {dataset}: the directory of its "
                                      "public release (see DATASETS.md)")
    if data_dir and not os.path.isdir(data_dir):
        raise PreprocessArgumentError(f"data_dir {data_dir} does not exist or is not a directory")
    try:
        check_image_size(image_size, "--image_size / data.image_size")
        check_output_dir(output_dir, overwrite)
        unknown = unknown_pipeline_args(pipeline_args)
    except (FileExistsError, ValueError) as error:  # StageDirectoryError, an unknown runner
        raise PreprocessArgumentError(str(error)) from None
    if unknown:
        raise PreprocessArgumentError(f"unknown flag {unknown[0]}: neither pipelines.preprocess "
                                      "nor Beam defines it")


def run_preprocess(dataset: str, data_dir: str, output_dir: str, image_size: int,
                   pipeline_args: Sequence[str] = (), *, config, overwrite: bool = False
                   ) -> dict[str, Any]:
    """Preprocesses `dataset` with the settings of `config` (an ml_collections experiment config:
    its `data` section, and `seed` for the reader). Returns the manifest.

    Raises PreprocessArgumentError before any work when the arguments are unusable or the reader
    rejects `data_dir` (its DatasetFormatError or ValueError is chained).
    """
    check_arguments(dataset, data_dir, output_dir, image_size, overwrite, pipeline_args)
    data = config.data
    reader_options = {"image_size": image_size, "train_frame_choice": data.train_frame_choice,
                      "seed": config.seed}
    if dataset == "synthetic":
        reader_options["num_stories"] = {split: data[f"synthetic_{split}"] for split in SPLITS}
        reader_options["frames_per_story"] = data.frames_per_story
    if data.get("split"):
        if not reader_class(dataset).configurable_split:
            raise PreprocessArgumentError(f"data.split = {data.split!r}: the {dataset} reader "
                                          "takes its splits from the release's own files")
        reader_options["split"] = data.split
    try:
        reader = make_reader(dataset, data_dir, **reader_options)
    except ValueError as error:  # DatasetFormatError included
        raise PreprocessArgumentError(f"{dataset} reader: {error}") from error
    experiment = config.to_dict()  # as run: the dataset and size given as flags included
    experiment["data"].update(dataset=dataset, image_size=image_size)
    provenance = {
        "arguments": {"dataset": dataset, "data_dir": data_dir, "output_dir": output_dir,
                      "image_size": image_size, "pipeline_args": list(pipeline_args)},
        "experiment": experiment,
    }
    return preprocess(reader, output_dir, image_size=image_size, num_shards=data.num_shards,
                      vocab_min_count=data.vocab_min_count,
                      compression=data.compression, pipeline_args=pipeline_args,
                      config=provenance, overwrite=overwrite)
