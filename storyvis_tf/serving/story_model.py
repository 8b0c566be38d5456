"""One served version of an exported story generator (storyvis_tf.export.savedmodel).

`StoryModel(version_dir, batching)` loads the SavedModel and its export manifest
(frames_per_story, image_size, max_sentence_length, ...) with the export's own checks
(savedmodel.load_export), reads its SignatureDefs as the MetaGraphDef holds them (what TF
Serving's metadata answers), and puts a DynamicBatcher in front of each callable signature.
`predict(signature_name, inputs, stories)` queues a request (name -> array [stories, ...], every
input given) and returns a Future of its outputs (name -> array). `close()` finishes the queued
requests and stops the batchers.
"""
import concurrent.futures
import os

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import saved_model_pb2

from storyvis_tf.export.savedmodel import load_export
from storyvis_tf.serving.batching import BatchingOptions, DynamicBatcher
from storyvis_tf.serving.errors import from_op_error, invalid_argument
from storyvis_tf.serving.model_repository import SAVED_MODEL_FILE

DEFAULT_SIGNATURE = tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY   # for signature_name ""


class StoryModel:
    """A loaded version: `manifest`, `signature_defs` (JSON), batched `predict`."""

    def __init__(self, version_dir: str, batching: BatchingOptions):
        self._model, self.manifest = load_export(version_dir)
        saved_model = saved_model_pb2.SavedModel()
        with open(os.path.join(version_dir, SAVED_MODEL_FILE), "rb") as f:
            saved_model.ParseFromString(f.read())
        self._signature_defs = saved_model.meta_graphs[0].signature_def
        self.signature_defs = {name: json_format.MessageToDict(
            signature, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
            for name, signature in self._signature_defs.items()}
        version = os.path.basename(os.path.normpath(version_dir))
        self._batchers = {name: DynamicBatcher(self._runner(function), batching,
                                               name=f"v{version}-{name}")
                          for name, function in self._model.signatures.items()}

    def input_specs(self, signature_name: str) -> dict[str, tuple[tf.DType, np.ndarray | None]]:
        """name -> (dtype, default value or None) of each input of the signature ("" is the
        default signature); INVALID_ARGUMENT for a signature the model cannot run."""
        name = signature_name or DEFAULT_SIGNATURE
        if name not in self._batchers:
            raise invalid_argument(f'Serving signature name: "{name}" not found in signature def '
                                   f"(this model serves: {', '.join(sorted(self._batchers))})")
        signature = self._signature_defs[name]
        return {key: (tf.dtypes.as_dtype(info.dtype),
                      tf.make_ndarray(signature.defaults[key]) if key in signature.defaults
                      else None)
                for key, info in signature.inputs.items()}

    def predict(self, signature_name: str, inputs: dict[str, np.ndarray],
                stories: int) -> concurrent.futures.Future:
        """Queues `stories` rows of `inputs` on the signature's batcher (see the module
        docstring); UNAVAILABLE when its queue is full."""
        return self._batchers[signature_name or DEFAULT_SIGNATURE].submit(inputs, stories)

    def close(self) -> None:
        for batcher in self._batchers.values():
            batcher.close()

    @staticmethod
    def _runner(function):
        def run_batch(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            try:
                outputs = function(**{name: tf.constant(value) for name, value in inputs.items()})
            except tf.errors.OpError as error:
                raise from_op_error(error) from None
            return {name: tensor.numpy() for name, tensor in outputs.items()}
        return run_batch

