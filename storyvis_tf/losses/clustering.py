"""Clustering of fusion features and the clustering loss (paper Sec. 3.3, Eq. 4-5).

`kmeans` and `assign_to_centroids` run in-graph (keras.ops, fixed shapes), so online clustering
happens inside the compiled train step under either backend; `cluster_loss` is Eq. 5.
`hierarchical_centroids` is the Table 4 alternative, NumPy / scikit-learn outside the graph.

Differences from the authors' code, which we do not follow: their K-means (kmeans_pytorch)
seeds uniformly at random and iterates to a tolerance (we seed with k-means++ and run a fixed
number of Lloyd steps, so the graph has fixed shapes); their clustering loss contrasts each
feature with the centroids of the other batch items (duplicates included) in both directions,
where Eq. 5 classifies each feature among the k centroids.
"""
import numpy as np
from keras import ops, random

from storyvis_tf.losses.contrastive import cosine_similarity_matrix

# Floor on k-means++ squared distances: points already chosen get a negligible but finite
# log-probability, and a memory of identical features still samples (uniformly).
_MIN_SQUARED_DISTANCE = 1e-30


def assign_to_centroids(features, centroids):
    """Index of the nearest centroid (Euclidean, Eq. 4) of every feature.

    features [T, F], centroids [k, F] -> int32 [T]. ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, and
    ||x||^2 is the same for every centroid, so it is left out of the argmin.
    """
    features = ops.cast(features, "float32")
    centroids = ops.cast(centroids, "float32")
    distances = (ops.sum(ops.square(centroids), axis=-1)
                 - 2.0 * ops.matmul(features, ops.transpose(centroids)))
    return ops.cast(ops.argmin(distances, axis=-1), "int32")


def kmeans(features, k, iterations, seed):
    """K-means (Eq. 4): k-means++ seeding, then `iterations` Lloyd steps.

    features [T, F] (T >= k); k and iterations are Python ints (static), so the function traces
    under tf.function and jax.jit. seed: a Python int (the same features always give the same
    clustering; the form to use under jax.jit) or a keras.random.SeedGenerator (advances on
    every draw). A cluster left without members keeps its previous centroid.
    Returns (centroids [k, F] float32, assignments int32 [T]: nearest returned centroid).
    """
    if len(features.shape) != 2:
        raise ValueError(f"kmeans: features must be [T, F]; got shape {tuple(features.shape)}")
    num_features = features.shape[0]
    if k < 1 or (num_features is not None and k > num_features):
        raise ValueError(f"kmeans: need 1 <= k <= T (number of features); got k={k}, "
                         f"T={num_features} (config clustering.k)")
    if iterations < 0:
        raise ValueError(f"kmeans: iterations must be >= 0; got {iterations} "
                         "(config clustering.lloyd_iterations)")
    features = ops.cast(features, "float32")
    centroids = ops.fori_loop(0, iterations, lambda _, current: _lloyd_step(features, current),
                              _kmeans_plus_plus_seeds(features, k, seed))
    return centroids, assign_to_centroids(features, centroids)


def _kmeans_plus_plus_seeds(features, k, seed):
    """k-means++ (Arthur & Vassilvitskii 2007): the first centroid uniformly at random, each next
    one with probability proportional to its squared distance to the nearest centroid so far."""
    index = random.categorical(ops.zeros_like(features[None, :, 0]), 1, seed=_draw_seed(seed, 0))
    chosen = [ops.take(features, index[0, 0], axis=0)]
    nearest = ops.sum(ops.square(features - chosen[0]), axis=-1)
    for draw in range(1, k):
        logits = ops.log(ops.maximum(nearest, _MIN_SQUARED_DISTANCE))
        index = random.categorical(logits[None], 1, seed=_draw_seed(seed, draw))
        chosen.append(ops.take(features, index[0, 0], axis=0))
        nearest = ops.minimum(nearest, ops.sum(ops.square(features - chosen[-1]), axis=-1))
    return ops.stack(chosen)


def _draw_seed(seed, draw):
    """An int seed is offset per draw so the k draws are independent; a SeedGenerator advances
    by itself."""
    return seed + draw if isinstance(seed, int) else seed


def _lloyd_step(features, centroids):
    """Assign every feature to its nearest centroid, move each centroid to its members' mean."""
    members = ops.one_hot(assign_to_centroids(features, centroids), centroids.shape[0],
                          dtype="float32")
    counts = ops.expand_dims(ops.sum(members, axis=0), -1)
    sums = ops.matmul(ops.transpose(members), features)
    return ops.where(counts > 0, sums / ops.maximum(counts, 1.0), centroids)


def cluster_loss(features, centroids, temperature=0.1):
    """Clustering loss, Eq. 5.

    features [N, F] (fusion features, flattened), centroids [k, F]. Each feature's target is its
    nearest centroid (Euclidean, the K-means rule); logits are cos(X_i, C_j) / tau over the k
    centroids; cross-entropy, mean over N. Centroids and targets are constants (stop-gradient):
    the loss pulls features towards their own centroid and away from the others, never moves
    the centroids.
    """
    if len(features.shape) != 2 or len(centroids.shape) != 2 or (
            features.shape[-1] is not None and centroids.shape[-1] is not None
            and features.shape[-1] != centroids.shape[-1]):
        raise ValueError(
            "cluster_loss: expected features [N, F] and centroids [k, F]; got features "
            f"{tuple(features.shape)} and centroids {tuple(centroids.shape)}")
    centroids = ops.stop_gradient(ops.cast(centroids, "float32"))
    targets = assign_to_centroids(ops.stop_gradient(features), centroids)
    logits = cosine_similarity_matrix(features, centroids) / temperature
    return ops.mean(ops.sparse_categorical_crossentropy(targets, logits, from_logits=True))


def hierarchical_centroids(features: np.ndarray, k: int) -> np.ndarray:
    """Centroids by Ward agglomerative clustering: the mean of each of its k clusters.

    The hierarchical alternative of Table 4. NumPy / scikit-learn, outside the graph: run it on
    fusion features fetched from the model (offline centroids, or between train steps), then
    pass the centroids to `cluster_loss`. features [T, F] -> centroids [k, F] float32.
    """
    # Imported here so that importing the losses (e.g. under JAX or in serving) does not pull
    # in scikit-learn.
    from sklearn.cluster import AgglomerativeClustering

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or not 1 <= k <= features.shape[0]:
        raise ValueError(f"hierarchical_centroids: need features [T, F] with T >= k >= 1; got "
                         f"shape {features.shape} and k={k} (config clustering.k)")
    labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(features)
    return np.stack([features[labels == cluster].mean(axis=0) for cluster in range(k)])
