"""The clustering state of the story GAN (paper Sec. 3.3): what is clustered, the memory of
recent batches, and the centroids that Eq. 5 pulls features towards.

Online mode (Sec. 3.3.2): the clustering features of the real pairs of the last
`clustering.memory_batches` batches sit in a FIFO memory; once it is full, and then every
`clustering.every_n_batches` batches, K-means (Eq. 4, `losses.clustering.kmeans`, k-means++ then a
fixed number of Lloyd steps) re-clusters the memory inside the train step's graph and replaces
the centroids. Until the first clustering there are no centroids and the clustering loss is
zero. With `clustering.algorithm = "hierarchical"` the graph only fills the memory; the host
runs Ward clustering (`losses.clustering.hierarchical_centroids`, scikit-learn) at the same
period and assigns the centroids (`callbacks.HierarchicalReclustering`), because agglomerative
clustering has no fixed-shape in-graph form.
Offline mode (Sec. 3.3.3): the centroids computed once by `pipelines.pretrain` are fixed from the
first step and nothing is remembered.

The memory holds the features of the GLOBAL batch (the train step gathers them across
replicas), so every replica holds the same memory and centroids and one device and N replicas
cluster the same points. Its variables are non-trainable, written with
aggregation="only_first_replica", and saved with the model, so a resumed run continues with
the memory and centroids it had.
"""
import keras
import ml_collections
import numpy as np
from keras import ops

from storyvis_tf.losses.clustering import cluster_loss, kmeans
from storyvis_tf.models.fusion import flatten_fusion, fusion_features

MODES = ("online", "offline")
ALGORITHMS = ("kmeans", "hierarchical")
FEATURES = ("fusion", "individual")


def clustering_features(kind: str, regions, words, word_mask, image, sentence):
    """The instances that are clustered, one row each.

    All inputs are already in the joint space (projected by f and g) and frame-level:
    regions [N, R, D], words [N, L, D], word_mask [N, L], image [N, D] (frame global feature),
    sentence [N, D]; N = stories x frames.
    "fusion" (Eq. 3, the paper's choice): one instance per (frame, sentence) pair, the flattened
      fusion matrix f(v_region) g(s_word)^T -> [N, R * L].
    "individual" (Table 4, "w/ Individual Feature"): every frame's image vector f(v_image) and
      every sentence vector g(s_sent) is an instance of its own, both modalities in one pool
      -> [2N, D] (images first); this is the setting Sec. 3.3.1 argues against, where clusters
      tend to split by modality.
    """
    if kind == "fusion":
        return flatten_fusion(fusion_features(regions, words, word_mask))
    if kind == "individual":
        return ops.concatenate([image, sentence], axis=0)
    raise ValueError(f"unknown clustering.features {kind!r}: expected one of {FEATURES}")


def clustering_feature_dim(kind: str, num_regions: int, sentence_length: int, joint_dim: int):
    """F, the size of one `clustering_features` row."""
    return num_regions * sentence_length if kind == "fusion" else joint_dim


def rows_per_frame(kind: str) -> int:
    """Clustering instances per frame: 1 fusion matrix, or an image and a sentence vector."""
    return 1 if kind == "fusion" else 2


class ClusteringMemory(keras.layers.Layer):
    """Online FIFO memory + centroids, or fixed offline centroids (module docstring).

    config: the `clustering` config section. rows_per_batch: clustering instances of one GLOBAL
    batch (stories x frames x `rows_per_frame`). feature_dim: F. seed: k-means++ seed (an int,
    the same at every re-clustering, so every replica computes the same centroids).
    offline_centroids: [k, F] from pretraining, required in offline mode.
    """

    def __init__(self, config: ml_collections.ConfigDict, rows_per_batch: int, feature_dim: int,
                 seed: int = 0, offline_centroids: np.ndarray | None = None, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        _check_choice(config.mode, MODES, "clustering.mode")
        _check_choice(config.algorithm, ALGORITHMS, "clustering.algorithm")
        _check_choice(config.features, FEATURES, "clustering.features")
        self.mode, self.algorithm = config.mode, config.algorithm
        self.k, self.iterations, self.seed = config.k, config.lloyd_iterations, seed
        self.memory_batches, self.every_n_batches = config.memory_batches, config.every_n_batches
        self.rows_per_batch = rows_per_batch
        if self.mode == "offline":
            self.centroids = self._variable("centroids", _offline(offline_centroids, config.k,
                                                                  feature_dim))
            self.ready = self._variable("ready", np.float32(1.0))
        else:
            if self.memory_batches < 1 or self.every_n_batches < 1:
                raise ValueError(
                    "clustering.memory_batches and clustering.every_n_batches must be >= 1; got "
                    f"{self.memory_batches} and {self.every_n_batches}")
            if not 1 <= self.k <= self.memory_batches * rows_per_batch:
                raise ValueError(
                    f"clustering.k = {self.k} must be between 1 and the {self.memory_batches} x "
                    f"{rows_per_batch} features held by the clustering memory")
            self.memory = self._variable(
                "memory", np.zeros((self.memory_batches * rows_per_batch, feature_dim), "float32"))
            self.batches_seen = self._variable("batches_seen", np.int32(0))
            self.centroids = self._variable("centroids", np.zeros((self.k, feature_dim), "float32"))
            self.ready = self._variable("ready", np.float32(0.0))
        self.built = True

    def _variable(self, name, value):
        value = np.asarray(value)
        return self.add_weight(shape=value.shape, dtype=value.dtype.name, trainable=False,
                               autocast=False, name=name, aggregation="only_first_replica",
                               initializer=keras.initializers.Constant(value))

    def loss(self, features, temperature):
        """Eq. 5 of `features` [M, F] against the current centroids; 0 before the first
        clustering."""
        return self.ready * cluster_loss(features, self.centroids, temperature)

    def update(self, features):
        """Writes a global batch's clustering features [rows_per_batch, F] over the oldest batch in
        the memory and, with K-means, re-clusters when due. Offline mode: nothing to do."""
        if self.mode == "offline":
            return
        if features.shape[0] is not None and features.shape[0] != self.rows_per_batch:
            raise ValueError(
                f"clustering memory expects {self.rows_per_batch} features per global batch, got "
                f"{features.shape[0]}: the training batches must all be full "
                "(drop_remainder=True) and of size train.batch_size")
        slot = ops.mod(self.batches_seen, self.memory_batches) * self.rows_per_batch
        self.memory.assign(ops.slice_update(
            self.memory.value, (slot, 0), ops.cast(ops.stop_gradient(features), "float32")))
        self.batches_seen.assign_add(1)
        if self.algorithm == "kmeans":
            due = self.recluster_due()
            self.centroids.assign(ops.cond(
                due, lambda: kmeans(self.memory.value, self.k, self.iterations, self.seed)[0],
                lambda: self.centroids.value))
            self.ready.assign(ops.maximum(self.ready, ops.cast(due, "float32")))

    def recluster_due(self):
        """True right after the batch that fills the memory, then every `every_n_batches`."""
        since_full = self.batches_seen - self.memory_batches
        return ops.logical_and(since_full >= 0, ops.mod(since_full, self.every_n_batches) == 0)

    def assign_centroids(self, centroids: np.ndarray) -> None:
        """Host-side clustering result (hierarchical algorithm) -> the centroids, now in use."""
        centroids = np.asarray(centroids, dtype=np.float32)
        if centroids.shape != tuple(self.centroids.shape):
            raise ValueError(f"centroids of shape {centroids.shape} do not fit the clustering "
                             f"state {tuple(self.centroids.shape)}")
        self.centroids.assign(centroids)
        self.ready.assign(1.0)


def _check_choice(value, choices, key):
    if value not in choices:
        raise ValueError(f"unknown {key} {value!r}: expected one of {choices}")


def _offline(centroids, k, feature_dim):
    if centroids is None:
        raise ValueError("clustering.mode = 'offline' needs the centroids of a pretraining run "
                         "(centroids.npy of pipelines.pretrain, passed with --pretrained_dir)")
    centroids = np.asarray(centroids, dtype=np.float32)
    if centroids.shape != (k, feature_dim):
        raise ValueError(
            f"offline centroids have shape {centroids.shape}, expected (clustering.k, F) = "
            f"({k}, {feature_dim}): pretrain with the same clustering.k, clustering.features, "
            "image size and sentence length as this run")
    return centroids
