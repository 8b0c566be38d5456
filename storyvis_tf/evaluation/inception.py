"""Inception-v3 pool features (2048-d) of frames: the feature extractor of FID.

The field's protocol (DATASETS.md §5): frames at the model's resolution, in [-1, 1], bilinearly
resized to 299 x 299, average-pooled features of the last Inception block. The weights are the
user's: a Keras InceptionV3 no-top weights file (`.weights.h5`, or a Keras-2 `.h5` such as
keras-applications' `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`), or a TF-Hub
handle / SavedModel directory (e.g. TF-GAN's `tfgan/eval/inception`, the TF 2015-12-05 graph the
field's numbers come from). Nothing is ever downloaded by this module; a TF-Hub URL is resolved
through tensorflow_hub's own cache (TFHUB_CACHE_DIR).

Keras-applications' ImageNet InceptionV3 is a different training of the architecture than the
2015-12-05 graph: FIDs with it are close to, not equal to, published ones. Report them as FID
with the extractor identity (which names the weights), and use the TF-GAN module for numbers
meant to be compared with the literature.

Only the TF-Hub path imports TensorFlow; the Keras path runs on any Keras backend.
"""
import os
from pathlib import Path

import keras
import numpy as np

from storyvis_tf.evaluation.extractors import batched_features, build_with_weights
from storyvis_tf.evaluation.statistics_cache import fingerprint_path

INCEPTION_SIZE = 299
FEATURE_DIM = 2048
_SIGNED_UNIT_RANGE = (-1.0, 1.0)
# Output names of Hub signatures that hold the pool features: TF-GAN's eval module, then TF1 Hub.
_HUB_FEATURE_OUTPUTS = ("pool_3", "default")


class InceptionFeatures:
    """Frames `[N, H, W, 3]` in [-1, 1] (or uint8) -> Inception-v3 pool features `[N, 2048]`.

    Args:
      weights: a local Keras weights file (`.h5` / `.weights.h5`) of
        `keras.applications.InceptionV3(include_top=False, pooling="avg")`, a SavedModel
        directory, or a TF-Hub handle; config `eval.inception_weights`.
      input_range: pixel range the Hub/SavedModel model expects (TF-GAN's module: (-1, 1);
        tfhub.dev `google/imagenet/inception_v3/feature_vector`: (0, 1)). A Keras weights file
        always takes (-1, 1), InceptionV3's own preprocessing.
      batch_size: frames per forward pass (throughput only; config `eval.batch_size`).

    Attributes:
      name: "inception_v3".
      identity: JSON-able dict naming the extractor, its weights path and their sha256 (a file's,
        or a SavedModel directory's), and the input range: the extractor part of a
        reference-statistics cache key.
    """

    name = "inception_v3"

    def __init__(self, weights: str, *, input_range: tuple[float, float] = _SIGNED_UNIT_RANGE,
                 batch_size: int = 32):
        if not weights:
            raise ValueError("no Inception-v3 weights given (config eval.inception_weights): FID "
                             "needs a local InceptionV3 no-top weights file, a SavedModel directory"
                             " or a TF-Hub handle; without one, report fid_domain instead")
        self._batch_size = batch_size
        self._input_range = tuple(float(v) for v in input_range)
        if "://" in weights or Path(weights).is_dir():
            import tensorflow_hub as hub  # Only the Hub path needs TensorFlow.
            location = hub.resolve(weights)  # A directory resolves to itself.
            self._features_of_batch = _hub_feature_fn(location, weights, self._input_range)
        elif Path(weights).is_file():
            if self._input_range != _SIGNED_UNIT_RANGE:
                raise ValueError(f"input_range={input_range} applies to Hub/SavedModel models "
                                 f"only: Keras InceptionV3 weights ({weights}) take pixels in "
                                 "[-1, 1]")
            location = weights
            self._features_of_batch = _keras_feature_fn(weights)
        else:
            raise FileNotFoundError(f"Inception-v3 weights not found: {weights} (nothing is "
                                    "downloaded; give a local weights file, a SavedModel directory"
                                    " or a TF-Hub handle)")
        self.identity = {"name": self.name, "weights": os.fspath(weights),
                         "weights_sha256": fingerprint_path(location),
                         "input_range": list(self._input_range)}

    def __call__(self, frames) -> np.ndarray:
        """Features `[N, 2048]` (float32) of frames `[N, H, W, 3]`; any H, W (resized to 299)."""
        if np.ndim(frames) != 4 or np.shape(frames)[-1] != 3:
            raise ValueError(f"frames must be [N, H, W, 3], got shape {np.shape(frames)}")
        return batched_features(self._features_of_batch, frames, self._batch_size, "frames")


def _keras_feature_fn(weights_path: str):
    """Keras InceptionV3 (no top, average pool) with the file's weights, behind a bilinear
    resize to 299."""
    trunk = build_with_weights(
        lambda: keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                               input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3)),
        weights_path, "InceptionV3 without top (include_top=False, pooling='avg')")
    model = keras.Sequential([
        keras.Input((None, None, 3)),
        keras.layers.Resizing(INCEPTION_SIZE, INCEPTION_SIZE, interpolation="bilinear"),
        trunk,
    ])
    return lambda frames: np.asarray(model.predict_on_batch(frames), np.float32)


def _hub_feature_fn(location: str, handle: str, input_range: tuple[float, float]):
    """A TF-Hub / SavedModel Inception called as an object (TF2) or through its `default`
    signature (TF1 Hub format), fed frames resized to 299 and mapped to `input_range`."""
    import tensorflow as tf
    import tensorflow_hub as hub

    try:
        loaded = hub.load(location)
    except (ValueError, OSError) as error:
        raise ValueError(f"{handle}: not a loadable SavedModel / TF-Hub module: {error}") from error
    if callable(loaded):
        call = loaded
    elif "default" in getattr(loaded, "signatures", {}):
        signature = loaded.signatures["default"]
        (input_name,) = signature.structured_input_signature[1]

        def call(images):
            return signature(**{input_name: images})
    else:
        raise ValueError(f"{handle}: the SavedModel is neither callable nor has a 'default' "
                         "signature")
    low, high = input_range

    def features_of_batch(frames: np.ndarray) -> np.ndarray:
        images = tf.image.resize(frames, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")
        outputs = call(low + (images + 1.0) * ((high - low) / 2.0))
        if isinstance(outputs, dict):
            outputs = _pick_feature_output(outputs, handle)
        features = np.asarray(outputs, np.float32).reshape(len(frames), -1)
        if features.shape[1] != FEATURE_DIM:
            raise ValueError(f"{handle}: gives {features.shape[1]}-d outputs, not Inception-v3's "
                             f"{FEATURE_DIM}-d pool features")
        return features

    return features_of_batch


def _pick_feature_output(outputs: dict, handle: str):
    for name in _HUB_FEATURE_OUTPUTS:
        if name in outputs:
            return outputs[name]
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    raise ValueError(f"{handle}: cannot tell which output holds the pool features among "
                     f"{sorted(outputs)} (expected one of {list(_HUB_FEATURE_OUTPUTS)})")
