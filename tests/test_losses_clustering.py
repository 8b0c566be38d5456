"""K-means (Eq. 4), the clustering loss (Eq. 5) and the hierarchical alternative (Table 4)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.losses import assign_to_centroids, cluster_loss, hierarchical_centroids, kmeans


def blobs(seed, points_per_blob=7):
    """Four tight blobs far apart; returns (features [28, 5], blob id of each feature)."""
    rng = np.random.RandomState(seed)
    centres = 10.0 * rng.randn(4, 5)
    features = np.concatenate([c + 0.05 * rng.randn(points_per_blob, 5) for c in centres])
    return features.astype(np.float32), np.repeat(np.arange(4), points_per_blob)


def assert_same_partition(assignments, blob_ids):
    """Equal up to a relabelling: each blob maps to one cluster and no two blobs share one."""
    mapping = {b: set(np.asarray(assignments)[blob_ids == b]) for b in np.unique(blob_ids)}
    assert all(len(clusters) == 1 for clusters in mapping.values()), mapping
    assert len(set.union(*mapping.values())) == len(mapping), mapping


@pytest.mark.parametrize("seed", range(5))
def test_kmeans_recovers_well_separated_blobs_and_their_means(seed):
    features, blob_ids = blobs(seed)
    centroids, assignments = kmeans(features, k=4, iterations=5, seed=seed)
    assert tuple(centroids.shape) == (4, 5) and assignments.dtype == "int32"
    assert_same_partition(assignments, blob_ids)
    for cluster in range(4):
        np.testing.assert_allclose(np.asarray(centroids)[cluster],
                                   features[np.asarray(assignments) == cluster].mean(axis=0),
                                   rtol=1e-5, atol=1e-5)


def test_kmeans_is_deterministic_for_a_seed_and_runs_inside_tf_function():
    features, _ = np.random.RandomState(0).randn(2, 40, 3).astype(np.float32)
    eager = kmeans(features, 5, 3, seed=7)
    again = kmeans(features, 5, 3, seed=7)
    graph = tf.function(lambda x: kmeans(x, 5, 3, seed=7))(features)
    for a, b in [(eager, again), (eager, graph)]:
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(kmeans(features, 5, 0, seed=8)[0], kmeans(features, 5, 0, seed=7)[0])


def test_kmeans_accepts_a_seed_generator():
    features, blob_ids = blobs(0)
    _, assignments = kmeans(features, 4, 5, seed=keras.random.SeedGenerator(3))
    assert_same_partition(assignments, blob_ids)


def test_kmeans_plus_plus_seeds_with_data_points():
    features, _ = blobs(1)
    seeds, _ = kmeans(features, 4, iterations=0, seed=0)
    for seed_point in np.asarray(seeds):
        assert np.any(np.all(features == seed_point, axis=1))


def test_empty_clusters_keep_their_centroid():
    # Two distinct points for three clusters: one centroid ends up a duplicate whose cluster
    # stays empty; it must stay where it is, not become 0 / 0 or the origin.
    points = np.array([[5.0, 5.0], [-5.0, 3.0]], np.float32)
    features = np.repeat(points, 4, axis=0)
    centroids, assignments = kmeans(features, 3, 4, seed=0)
    for centroid in np.asarray(centroids):
        assert np.any(np.all(np.isclose(points, centroid), axis=1)), centroids
    np.testing.assert_array_equal(np.asarray(centroids)[np.asarray(assignments)], features)


def test_kmeans_rejects_more_clusters_than_features():
    with pytest.raises(ValueError, match=r"kmeans: need 1 <= k <= T .*k=9, T=8"):
        kmeans(np.zeros((8, 2), np.float32), 9, 3, seed=0)


def test_assign_to_centroids_is_euclidean():
    centroids = np.array([[1.0, 0.0], [10.0, 1.0]], np.float32)
    # (2, 0.3) is nearer (1, 0) in distance but nearer (10, 1) in angle.
    features = np.array([[2.0, 0.3], [8.0, 1.0], [-3.0, 0.0]], np.float32)
    np.testing.assert_array_equal(assign_to_centroids(features, centroids), [0, 1, 0])


def cluster_loss_numpy(features, centroids, temperature):
    targets = np.argmin(((features[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    cosine = (features / np.linalg.norm(features, axis=1, keepdims=True)) @ (
        centroids / np.linalg.norm(centroids, axis=1, keepdims=True)).T
    logits = cosine / temperature
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(features)), targets])


def test_cluster_loss_matches_eq5_with_euclidean_targets():
    rng = np.random.RandomState(0)
    features, centroids = rng.randn(10, 6).astype(np.float32), rng.randn(3, 6).astype(np.float32)
    np.testing.assert_allclose(float(cluster_loss(features, centroids, 0.1)),
                               cluster_loss_numpy(features, centroids, 0.1), rtol=1e-5)
    # The hand-made case where angle and distance disagree: target is the nearer centroid.
    centroids = np.array([[1.0, 0.0], [10.0, 1.0]], np.float32)
    feature = np.array([[2.0, 0.3]], np.float32)
    np.testing.assert_allclose(float(cluster_loss(feature, centroids, 0.5)),
                               cluster_loss_numpy(feature, centroids, 0.5), rtol=1e-5)


def test_cluster_loss_is_lowest_with_features_on_their_centroids():
    centroids = 3.0 * np.eye(4, 6, dtype=np.float32)
    on_centroids = float(cluster_loss(centroids, centroids, 0.5))
    assert on_centroids == pytest.approx(np.log(1 + 3 * np.exp(-1 / 0.5)), rel=1e-5)
    previous = on_centroids
    for step in (0.3, 0.6, 0.9):  # drift towards the next centroid, staying nearer one's own
        drifted = (1 - step / 2) * centroids + (step / 2) * np.roll(centroids, 1, axis=0)
        loss = float(cluster_loss(drifted, centroids, 0.5))
        assert loss > previous
        previous = loss


def test_cluster_loss_moves_features_only():
    rng = np.random.RandomState(1)
    features = tf.Variable(rng.randn(8, 4).astype(np.float32))
    centroids = tf.Variable(rng.randn(3, 4).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = cluster_loss(features, centroids)
    feature_gradient, centroid_gradient = tape.gradient(loss, [features, centroids])
    assert np.all(np.isfinite(feature_gradient.numpy())) and np.any(feature_gradient.numpy())
    assert centroid_gradient is None or not np.any(centroid_gradient.numpy())


def test_hierarchical_centroids_are_the_blob_means():
    features, blob_ids = blobs(2)
    centroids = hierarchical_centroids(features, 4)
    assert centroids.shape == (4, 5) and centroids.dtype == np.float32
    blob_means = np.stack([features[blob_ids == b].mean(axis=0) for b in range(4)])
    np.testing.assert_allclose(sorted(centroids.tolist()), sorted(blob_means.tolist()), rtol=1e-5)
    with pytest.raises(ValueError, match=r"hierarchical_centroids: .*shape \(28, 5\) and k=30"):
        hierarchical_centroids(features, 30)
