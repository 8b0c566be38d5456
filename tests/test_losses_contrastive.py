"""Contrastive losses (Eq. 1, 2) against NumPy formulas; and every loss under both backends."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.losses import contrastive_loss, mms_loss, nt_xent_loss


def _cross_entropy_numpy(logits, target):
    return -(logits[target] - np.log(np.sum(np.exp(logits))))


def mms_numpy(visual, language, margin):
    """Eq. 2 term by term: sentence i against all images, image i against all sentences."""
    scores = visual.astype(np.float64) @ language.T.astype(np.float64)
    n = len(scores)
    total = 0.0
    for i in range(n):
        positive = np.exp(scores[i, i] - margin)
        over_images = positive + sum(np.exp(scores[j, i]) for j in range(n) if j != i)
        over_sentences = positive + sum(np.exp(scores[i, k]) for k in range(n) if k != i)
        total += -np.log(positive / over_images) - np.log(positive / over_sentences)
    return total / n


def nt_xent_numpy(visual, language, temperature):
    def cosine(a, b):
        return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))

    n = len(visual)
    logits = np.array([[cosine(visual[i], language[j]) for j in range(n)] for i in range(n)])
    logits = logits / temperature
    rows = np.mean([_cross_entropy_numpy(logits[i], i) for i in range(n)])
    columns = np.mean([_cross_entropy_numpy(logits[:, i], i) for i in range(n)])
    return rows + columns


@pytest.fixture
def pair():
    rng = np.random.RandomState(0)
    return rng.randn(6, 5).astype(np.float32), rng.randn(6, 5).astype(np.float32)


@pytest.mark.parametrize("margin", [0.0, 0.001, 0.5])
def test_mms_matches_eq2_on_random_embeddings(pair, margin):
    np.testing.assert_allclose(float(mms_loss(*pair, margin=margin)), mms_numpy(*pair, margin),
                               rtol=1e-5)


def test_mms_is_near_zero_for_aligned_orthogonal_embeddings():
    embeddings = 20.0 * np.eye(4, dtype=np.float32)
    assert float(mms_loss(embeddings, embeddings, margin=0.001)) < 1e-6


def test_mms_of_uninformative_embeddings_is_2_log_n_raised_by_the_margin():
    # All logits 0: each direction is -log(e^-d / (e^-d + N - 1)) = log(1 + (N - 1) e^d).
    zeros = np.zeros((5, 3), np.float32)
    assert float(mms_loss(zeros, zeros, margin=0.0)) == pytest.approx(2 * np.log(5), rel=1e-6)
    for margin in (0.001, 0.3, 2.0):
        expected = 2 * np.log(1 + 4 * np.exp(margin))
        assert float(mms_loss(zeros, zeros, margin=margin)) == pytest.approx(expected, rel=1e-6)


def test_mms_of_a_permuted_batch_pays_the_wrong_pairs_score():
    # Sentence i matches image perm(i) with score s and its own image with 0: each direction
    # costs log(e^-d + e^s + N - 2) + d.
    n, scale = 4, 3.0
    visual = scale * np.eye(n, dtype=np.float32)
    language = visual[[1, 2, 3, 0]]
    margin = 0.001
    expected = 2 * (np.log(np.exp(-margin) + np.exp(scale ** 2) + n - 2) + margin)
    assert float(mms_loss(visual, language, margin)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_nt_xent_matches_eq1_in_both_directions(pair, temperature):
    np.testing.assert_allclose(float(nt_xent_loss(*pair, temperature=temperature)),
                               nt_xent_numpy(*pair, temperature), rtol=1e-5)


def test_nt_xent_of_aligned_orthogonal_embeddings_and_its_scale_invariance():
    # cos = 1 on the diagonal, 0 elsewhere: each direction is log(1 + (N - 1) e^(-1/tau)).
    embeddings = np.eye(4, dtype=np.float32)
    expected = 2 * np.log(1 + 3 * np.exp(-1 / 0.5))
    assert float(nt_xent_loss(embeddings, embeddings, 0.5)) == pytest.approx(expected, rel=1e-5)
    assert float(nt_xent_loss(7.0 * embeddings, 0.5 * embeddings, 0.5)) == pytest.approx(
        expected, rel=1e-5)


def test_contrastive_loss_dispatches_by_kind(pair):
    assert float(contrastive_loss(*pair, kind="mms", margin=0.2)) == pytest.approx(
        float(mms_loss(*pair, margin=0.2)))
    assert float(contrastive_loss(*pair, kind="nt_xent", temperature=0.5)) == pytest.approx(
        float(nt_xent_loss(*pair, temperature=0.5)))
    with pytest.raises(ValueError, match="'infonce'.*losses.contrastive.*'mms'.*'nt_xent'"):
        contrastive_loss(*pair, kind="infonce")


@pytest.mark.parametrize("loss", [mms_loss, nt_xent_loss])
def test_mismatched_embeddings_are_rejected(pair, loss):
    with pytest.raises(ValueError, match=rf"{loss.__name__}: .*\(6, 5\).*\(6, 1, 5\)"):
        loss(pair[0], pair[1][:, None, :])


@pytest.mark.parametrize("loss", [mms_loss, nt_xent_loss])
def test_gradients_are_finite_and_graph_mode_agrees(pair, loss):
    visual = tf.Variable(np.concatenate([pair[0][:5], np.zeros((1, 5), np.float32)]))
    language = tf.Variable(pair[1])
    with tf.GradientTape() as tape:
        value = loss(visual, language)
    gradients = tape.gradient(value, [visual, language])
    assert all(np.all(np.isfinite(g.numpy())) for g in gradients)
    assert float(tf.function(loss)(visual, language)) == pytest.approx(float(value), rel=1e-6)


# One script, run under each backend in its own process, evaluating every loss compiled
# (tf.function / jax.jit) on the same seeded inputs.
_EVERY_LOSS = r"""
import json
import keras
import numpy as np
from storyvis_tf import losses

if keras.backend.backend() == "jax":
    import jax
    compiled = jax.jit
else:
    import tensorflow as tf
    compiled = tf.function

rng = np.random.RandomState(0)
visual, language = rng.randn(2, 6, 8).astype(np.float32)
regions = rng.randn(4, 5, 8).astype(np.float32)
words = rng.randn(4, 3, 8).astype(np.float32)
mask = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]], bool)
story_regions = rng.randn(2, 3, 5, 8).astype(np.float32)
story_words = rng.randn(2, 3, 4, 8).astype(np.float32)
story_mask = rng.rand(2, 3, 4) < 0.7
story_mask[..., 0] = True
centres = 20.0 * np.eye(3, 8, dtype=np.float32)
blobs = np.concatenate([c + 0.1 * rng.randn(6, 8) for c in centres]).astype(np.float32)
logits = rng.randn(2, 5).astype(np.float32)
gammas = dict(gamma1=4.0, gamma2=5.0, gamma3=10.0)

values = {
    "mms": compiled(lambda v, s: losses.mms_loss(v, s, 0.001))(visual, language),
    "nt_xent": compiled(lambda v, s: losses.nt_xent_loss(v, s, 0.1))(visual, language),
    "word_region": compiled(lambda r, w, m: losses.word_region_loss(r, w, m, **gammas))(
        regions, words, mask),
    "story_region_word": compiled(
        lambda r, w, m: losses.story_region_word_loss(r, w, m, **gammas))(
        story_regions, story_words, story_mask),
    "sentence_image": compiled(lambda v, s: losses.sentence_image_loss(v, s, 10.0))(
        visual, language),
    "cluster": compiled(lambda x, c: losses.cluster_loss(x, c, 0.1))(blobs, centres),
    "discriminator_gan": compiled(losses.discriminator_gan_loss)(logits, -logits),
    "generator_gan": compiled(losses.generator_gan_loss)(logits),
    "kl": compiled(losses.kl_loss)(visual, language),
}
centroids, _ = compiled(lambda x: losses.kmeans(x, 3, 5, 0))(blobs)
values = {name: float(value) for name, value in values.items()}
values["kmeans_centroids"] = np.asarray(centroids).tolist()
print(json.dumps(values))
"""


def _every_loss_under(backend):
    root = pathlib.Path(__file__).resolve().parents[1]
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", _EVERY_LOSS], env=env, cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"KERAS_BACKEND={backend} failed:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_loss_gives_the_same_value_under_tensorflow_and_jax():
    on_tf, on_jax = _every_loss_under("tensorflow"), _every_loss_under("jax")
    assert on_tf.keys() == on_jax.keys()
    # The random streams differ between backends; on well-separated blobs K-means must still
    # find the same clusters.
    tf_centroids, jax_centroids = (sorted(run.pop("kmeans_centroids"), key=np.argmax)
                                   for run in (on_tf, on_jax))
    np.testing.assert_allclose(jax_centroids, tf_centroids, rtol=1e-5, atol=1e-5)
    for name in on_tf:
        assert on_jax[name] == pytest.approx(on_tf[name], rel=1e-4, abs=1e-6), name
