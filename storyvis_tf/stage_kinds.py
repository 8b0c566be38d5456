"""The kinds of pipeline directory, as each stage's manifest names them (`stage_dirs` tells
which a path holds). No TensorFlow here: the run-directory and pretrained-encoder modules read
these under the JAX backend too, where TensorFlow may be missing (docs/JAX.md)."""
DATA_KIND = "storyvis_tf.preprocessed_data"
PRETRAIN_KIND = "storyvis_tf.pretrain_run"
RUN_KIND = "storyvis_tf.train_run"
EXPORT_KIND = "storyvis_tf.generator_export"            # one version, EXPORT/<version>/
EXPORTS_KIND = "storyvis_tf.generator_exports"          # the model directory EXPORT/
EVALUATION_KIND = "storyvis_tf.evaluation"
KINDS = {
    DATA_KIND: "preprocessed data (pipelines.preprocess)",
    PRETRAIN_KIND: "a pretraining run (pipelines.pretrain)",
    RUN_KIND: "a training run (pipelines.train)",
    EXPORT_KIND: "an exported generator version (pipelines.export)",
    EXPORTS_KIND: "an export model directory of versions (pipelines.export)",
    EVALUATION_KIND: "an evaluation (pipelines.evaluate)",
}


def describe(kind: str) -> str:
    """Words for a kind, e.g. "a training run (pipelines.train)"."""
    return KINDS.get(kind, f"a directory of unknown kind {kind!r}")
