"""The on-disk format of a preprocessed dataset: directory layout and TFRecord schema.

Layout of a preprocessed directory (written by `storyvis_tf.data.preprocess`):
```
manifest.json                                  written last: its presence marks a complete run
vocab.txt                                      one word per line, PAD and UNK first
<split>/<split>-SSSSS-of-NNNNN.tfrecord        the stories of each split, sharded
rejected/rejected-SSSSS-of-NNNNN.jsonl         one JSON line per story that was rejected
```

Record schema: one `tf.train.SequenceExample` per story.
Context (once per story): `story_id`, `dataset`, `split` (bytes) and `num_frames`, `image_size`,
`num_labels` (int64). Feature lists (one entry per frame, in story order): `frame` (PNG bytes,
lossless), `sentence` (UTF-8 bytes), `token_ids` (int64 list of any length, ids of the
preprocessing vocabulary, out-of-vocabulary words -> UNK_ID), `labels` (`num_labels` floats),
`source` (bytes: where the frame came from) and `annotation` (JSON bytes: the frame's ground truth).
Label names, the vocabulary and the dataset statistics live in the preprocessing manifest, not in
every record.

`story_to_example` runs inside Beam workers (NumPy + Pillow), `parse_example` inside tf.data
(graph ops only), `example_to_story` is the NumPy-side inverse for tests and tools.
"""
import io
import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from storyvis_tf.data.story import Story
from storyvis_tf.text.vocabulary import Vocabulary

MANIFEST_FILE = "manifest.json"
VOCABULARY_FILE = "vocab.txt"
REJECTED_DIR = "rejected"
RECORD_SUFFIX = ".tfrecord"


def shard_prefix(directory: str, split: str) -> str:
    """Path prefix of a split's shards; Beam appends `-SSSSS-of-NNNNN` + RECORD_SUFFIX."""
    return os.path.join(directory, split, split)


def shard_paths(directory: str, split: str, num_shards: int) -> list[str]:
    return [f"{shard_prefix(directory, split)}-{i:05d}-of-{num_shards:05d}{RECORD_SUFFIX}"
            for i in range(num_shards)]


_CONTEXT_FEATURES = {
    "story_id": tf.io.FixedLenFeature([], tf.string),
    "dataset": tf.io.FixedLenFeature([], tf.string),
    "split": tf.io.FixedLenFeature([], tf.string),
    "num_frames": tf.io.FixedLenFeature([], tf.int64),
    "image_size": tf.io.FixedLenFeature([], tf.int64),
    "num_labels": tf.io.FixedLenFeature([], tf.int64),
}
_SEQUENCE_FEATURES = {
    "frame": tf.io.FixedLenSequenceFeature([], tf.string),
    "sentence": tf.io.FixedLenSequenceFeature([], tf.string),
    "token_ids": tf.io.RaggedFeature(tf.int64),
    "labels": tf.io.RaggedFeature(tf.float32),
    "source": tf.io.FixedLenSequenceFeature([], tf.string),
    "annotation": tf.io.FixedLenSequenceFeature([], tf.string),
}


def _bytes(values: list[bytes]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _int64(values) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _float(values) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _feature_list(features: list[tf.train.Feature]) -> tf.train.FeatureList:
    return tf.train.FeatureList(feature=features)


def encode_png(frame: np.ndarray) -> bytes:
    """Lossless PNG of one uint8 RGB frame [H, W, 3]."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def story_to_example(story: Story, vocabulary: Vocabulary, dataset: str, split: str) -> bytes:
    """Serialised SequenceExample of `story`; raises ValueError when a field cannot be stored."""
    num_frames, height, width, _ = story.frames.shape
    if height != width:
        raise ValueError(f"story {story.story_id}: frames are {height}x{width}, the schema stores "
                         "square frames of side image_size")
    annotations = []
    for t, annotation in enumerate(story.annotations):
        try:
            annotations.append(json.dumps(annotation, sort_keys=True).encode("utf-8"))
        except TypeError as error:
            raise ValueError(f"story {story.story_id}: annotation of frame {t} is not "
                             f"JSON-serialisable ({error})") from None
    context = tf.train.Features(feature={
        "story_id": _bytes([story.story_id.encode("utf-8")]),
        "dataset": _bytes([dataset.encode("utf-8")]),
        "split": _bytes([split.encode("utf-8")]),
        "num_frames": _int64([num_frames]),
        "image_size": _int64([height]),
        "num_labels": _int64([story.labels.shape[1]]),
    })
    feature_lists = tf.train.FeatureLists(feature_list={
        "frame": _feature_list([_bytes([encode_png(frame)]) for frame in story.frames]),
        "sentence": _feature_list([_bytes([s.encode("utf-8")]) for s in story.sentences]),
        "token_ids": _feature_list([_int64(vocabulary.encode(s)) for s in story.sentences]),
        "labels": _feature_list([_float(row) for row in story.labels.astype(np.float32)]),
        "source": _feature_list([_bytes([s.encode("utf-8")]) for s in story.sources]),
        "annotation": _feature_list([_bytes([a]) for a in annotations]),
    })
    example = tf.train.SequenceExample(context=context, feature_lists=feature_lists)
    return example.SerializeToString()


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Graph-mode parse of one serialised story.

    Returns story_id, dataset, split: string scalars; frames: uint8 [T, H, W, 3];
    sentences, sources, annotations: string [T]; token_ids: int64 ragged [T, None];
    labels: float32 [T, C].
    """
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=_CONTEXT_FEATURES, sequence_features=_SEQUENCE_FEATURES)
    frames = tf.map_fn(lambda png: tf.io.decode_png(png, channels=3), sequence["frame"],
                       fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
    labels = tf.reshape(sequence["labels"].flat_values,
                        tf.stack([context["num_frames"], context["num_labels"]]))
    return {
        "story_id": context["story_id"],
        "dataset": context["dataset"],
        "split": context["split"],
        "frames": frames,
        "sentences": sequence["sentence"],
        "token_ids": sequence["token_ids"],
        "labels": labels,
        "sources": sequence["source"],
        "annotations": sequence["annotation"],
    }


def example_to_story(serialized: bytes) -> Story:
    """NumPy-side inverse of `story_to_example` (the token ids are dropped: see parse_example)."""
    example = tf.train.SequenceExample.FromString(serialized)
    context = example.context.feature
    lists = example.feature_lists.feature_list

    def strings(key: str) -> list[str]:
        return [f.bytes_list.value[0].decode("utf-8") for f in lists[key].feature]

    frames = np.stack([np.asarray(Image.open(io.BytesIO(f.bytes_list.value[0])).convert("RGB"))
                       for f in lists["frame"].feature])
    labels = np.array([f.float_list.value for f in lists["labels"].feature], np.float32)
    return Story(
        story_id=context["story_id"].bytes_list.value[0].decode("utf-8"),
        frames=frames,
        sentences=strings("sentence"),
        labels=labels.reshape(len(frames), context["num_labels"].int64_list.value[0]),
        sources=strings("source"),
        annotations=[json.loads(a) for a in strings("annotation")],
    )
