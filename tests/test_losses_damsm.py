"""DAMSM losses against a straightforward NumPy loop over (text, image) pairs, as AttnGAN's
`words_loss` computes them (each text cut to its real words)."""
import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.losses import (damsm_loss, sentence_image_loss, story_region_word_loss,
                                word_region_attention, word_region_loss)
from storyvis_tf.losses.damsm import word_region_contrastive_loss

GAMMAS = dict(gamma1=4.0, gamma2=5.0, gamma3=10.0)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _cosine(a, b):
    return np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def attention_numpy(regions, words, gamma1):
    """AttnGAN Eq. 7-9 for one text's real words [L, D] and one image's regions [R, D]."""
    similarity = words @ regions.T
    attention = _softmax(gamma1 * _softmax(similarity, axis=0), axis=1)
    return attention @ regions, attention


def word_loss_numpy(regions, words, mask, gamma1, gamma2, gamma3):
    regions, words = regions.astype(np.float64), words.astype(np.float64)
    n = len(regions)
    scores = np.zeros((n, n))  # [image, text]
    for i in range(n):
        real_words = words[i][mask[i]]
        for j in range(n):
            context, _ = attention_numpy(regions[j], real_words, gamma1)
            relevance = _cosine(context, real_words)
            scores[j, i] = gamma3 * np.log(np.sum(np.exp(gamma2 * relevance))) / gamma2
    return _symmetric_cross_entropy_numpy(scores)


def sentence_loss_numpy(image_global, sentence, gamma3):
    scores = gamma3 * np.array([[_cosine(v, s) for s in sentence] for v in image_global])
    return _symmetric_cross_entropy_numpy(scores)


def _symmetric_cross_entropy_numpy(scores):
    n = len(scores)
    rows = [np.log(np.sum(np.exp(scores[i]))) - scores[i, i] for i in range(n)]
    columns = [np.log(np.sum(np.exp(scores[:, i]))) - scores[i, i] for i in range(n)]
    return np.mean(rows) + np.mean(columns)


@pytest.fixture
def batch():
    rng = np.random.RandomState(0)
    regions = rng.randn(4, 6, 8).astype(np.float32)
    words = rng.randn(4, 5, 8).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
    return regions, words, mask


def test_word_region_attention_matches_attngan_order_of_softmaxes(batch):
    regions, words, mask = batch
    context, attention = word_region_attention(regions, words, mask, gamma1=4.0)
    assert tuple(context.shape) == (4, 5, 8) and tuple(attention.shape) == (4, 5, 6)
    np.testing.assert_allclose(np.sum(attention, axis=-1), 1.0, rtol=1e-5)
    for i in range(4):
        expected_context, expected_attention = attention_numpy(regions[i], words[i][mask[i]], 4.0)
        np.testing.assert_allclose(np.asarray(attention)[i][mask[i]], expected_attention,
                                   rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(np.asarray(context)[i][mask[i]], expected_context,
                                   rtol=1e-4, atol=1e-5)


def test_word_region_loss_matches_numpy_loop(batch):
    np.testing.assert_allclose(float(word_region_loss(*batch, **GAMMAS)),
                               word_loss_numpy(*batch, **GAMMAS), rtol=1e-4)


def test_padded_words_do_not_change_the_loss(batch):
    regions, words, mask = batch
    rng = np.random.RandomState(1)
    garbage = 50.0 * rng.randn(4, 3, 8).astype(np.float32)
    padded_words = np.concatenate([words, garbage], axis=1)
    padded_mask = np.concatenate([mask, np.zeros((4, 3), bool)], axis=1)
    other_padding = np.where(mask[..., None], words, 9.0).astype(np.float32)
    reference = float(word_region_loss(regions, words, mask, **GAMMAS))
    assert float(word_region_loss(regions, padded_words, padded_mask, **GAMMAS)) == pytest.approx(
        reference, rel=1e-5)
    assert float(word_region_loss(regions, other_padding, mask, **GAMMAS)) == pytest.approx(
        reference, rel=1e-5)


def test_identical_pairs_cannot_be_told_apart_so_each_direction_costs_log_n():
    rng = np.random.RandomState(2)
    regions = np.repeat(rng.randn(1, 6, 8), 5, axis=0).astype(np.float32)
    words = np.repeat(rng.randn(1, 4, 8), 5, axis=0).astype(np.float32)
    loss = word_region_loss(regions, words, np.ones((5, 4), bool), **GAMMAS)
    assert float(loss) == pytest.approx(2 * np.log(5), rel=1e-5)


def test_story_region_word_loss_is_the_word_loss_over_whole_stories():
    rng = np.random.RandomState(3)
    regions = rng.randn(3, 2, 4, 8).astype(np.float32)  # [B, T, R, D]
    words = rng.randn(3, 2, 5, 8).astype(np.float32)    # [B, T, L, D]
    mask = rng.rand(3, 2, 5) < 0.6
    mask[:, :, 0] = True
    story_regions = regions.reshape(3, 8, 8)
    story_words, story_mask = words.reshape(3, 10, 8), mask.reshape(3, 10)
    np.testing.assert_allclose(
        float(story_region_word_loss(regions, words, mask, **GAMMAS)),
        word_loss_numpy(story_regions, story_words, story_mask, **GAMMAS), rtol=1e-4)


def test_sentence_image_loss_and_damsm_total_match_numpy(batch):
    rng = np.random.RandomState(4)
    image_global, sentence = rng.randn(2, 4, 8).astype(np.float32)
    sentence_term = sentence_loss_numpy(image_global, sentence, 10.0)
    np.testing.assert_allclose(float(sentence_image_loss(image_global, sentence, 10.0)),
                               sentence_term, rtol=1e-5)
    word_term = word_loss_numpy(*batch, **GAMMAS)
    np.testing.assert_allclose(float(damsm_loss(*batch, image_global, sentence, **GAMMAS)),
                               word_term + sentence_term, rtol=1e-4)
    np.testing.assert_allclose(
        float(damsm_loss(*batch, image_global, sentence, **GAMMAS, word_weight=5.0)),
        5.0 * word_term + sentence_term, rtol=1e-4)


def test_gradients_are_finite_with_zero_padded_words_and_graph_mode_agrees(batch):
    regions, words, mask = batch
    regions = tf.Variable(regions)
    words = tf.Variable(np.where(mask[..., None], words, 0.0).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = word_region_loss(regions, words, mask, **GAMMAS)
    gradients = tape.gradient(loss, [regions, words])
    assert all(np.all(np.isfinite(g.numpy())) for g in gradients)
    np.testing.assert_array_equal(gradients[1].numpy()[~mask], 0.0)
    graph_loss = tf.function(lambda r, w, m: word_region_loss(r, w, m, **GAMMAS))(
        regions, words, mask)
    assert float(graph_loss) == pytest.approx(float(loss), rel=1e-5)


def test_mismatched_shapes_are_rejected(batch):
    regions, words, mask = batch
    with pytest.raises(ValueError, match=r"region-word loss: .*word_mask \(4, 4\)"):
        word_region_loss(regions, words, mask[:, :4], **GAMMAS)
    with pytest.raises(ValueError, match=r"region-word loss: .*regions \(3, 6, 8\)"):
        word_region_loss(regions[:3], words, mask, **GAMMAS)
    with pytest.raises(ValueError, match=r"story region-word loss: expected .*\[B, T, R, D\]"):
        story_region_word_loss(regions, words, mask, **GAMMAS)
    with pytest.raises(ValueError, match=r"sentence_image_loss: "):
        sentence_image_loss(regions[:, 0], words[:3, 0], 10.0)


def _margin_word_loss_numpy(regions, words, mask, gamma1, gamma2, gamma3, margin):
    """The NumPy word loss with `margin` subtracted from the matched pairs' scaled scores."""
    n = len(regions)
    shifted = np.zeros((n, n))
    for i in range(n):
        real_words = words[i][mask[i]].astype(np.float64)
        for j in range(n):
            context, _ = attention_numpy(regions[j].astype(np.float64), real_words, gamma1)
            shifted[j, i] = gamma3 * np.log(np.sum(np.exp(gamma2 * _cosine(context, real_words)))
                                            ) / gamma2 - margin * (i == j)
    return _symmetric_cross_entropy_numpy(shifted)


def test_region_word_contrastive_loss_takes_the_contrastive_kind(batch):
    """losses.contrastive acts at the region-word level too: MMS subtracts its margin from the
    matched pairs of the DAMSM scores, NT-Xent divides them by its temperature."""
    gammas = tuple(GAMMAS.values())
    mms = word_region_contrastive_loss(*batch, "mms", gammas, margin=0.5)
    np.testing.assert_allclose(float(mms),
                               _margin_word_loss_numpy(*batch, *gammas, margin=0.5), rtol=1e-4)
    assert float(mms) > float(word_region_loss(*batch, **GAMMAS)) + 1e-3
    nt_xent = word_region_contrastive_loss(*batch, "nt_xent", gammas, temperature=0.5)
    np.testing.assert_allclose(float(nt_xent),
                               word_loss_numpy(*batch, 4.0, 5.0, gamma3=2.0), rtol=1e-4)
    with pytest.raises(ValueError, match="losses.contrastive"):
        word_region_contrastive_loss(*batch, "cosine", gammas)
