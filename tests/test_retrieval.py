"""R-precision, recall@k and Cosine on embeddings with known rankings."""
import numpy as np
import pytest

from storyvis_tf.evaluation.retrieval import (mean_cosine, r_precision, r_precision_chance,
                                              retrieval_recall)

# Images are the standard basis, so similarity[i, j] = TEXTS[j, i]:
#   image 0: own text 1.0 > 0.8, 0    -> rank 0
#   image 1: own text 0.6 < 0.8 (t2)  -> rank 1
#   image 2: own text 0.6 > 0, 0      -> rank 0
#   text 0 : own image 1.0 > 0, 0     -> rank 0
#   text 1 : own image 0.6 < 0.8 (i0) -> rank 1
#   text 2 : own image 0.6 < 0.8 (i1) -> rank 1
IMAGES = np.eye(3)
TEXTS = np.array([[1.0, 0.0, 0.0],
                  [0.8, 0.6, 0.0],
                  [0.0, 0.8, 0.6]])


def test_recall_at_k_on_known_rankings():
    recall = retrieval_recall(IMAGES, TEXTS, ks=(1, 2))
    assert recall == pytest.approx({"image_to_text_r@1": 2 / 3, "image_to_text_r@2": 1.0,
                                    "text_to_image_r@1": 1 / 3, "text_to_image_r@2": 1.0})


def test_r_precision_on_known_rankings_with_two_candidates():
    # One random distractor per image: images 0 and 2 always win, image 1 loses to text 2 only,
    # i.e. half of the time: (1 + 0.5 + 1) / 3.
    assert r_precision(IMAGES, TEXTS, candidates=2, trials=2000, seed=0) == pytest.approx(
        2.5 / 3, abs=0.02)


def test_r_precision_trials_draw_different_candidates_when_all_items_are_candidates():
    # N == candidates == 3: image 1 loses to text 2 only. Drawing its 2 mismatched texts with
    # replacement leaves text 2 out a quarter of the time, so trials differ and the mean is
    # (1 + 1/4 + 1) / 3; ranking all other texts in every trial would give exactly 2/3.
    single_trials = {r_precision(IMAGES, TEXTS, candidates=3, trials=1, seed=seed)
                     for seed in range(20)}
    assert single_trials == {2 / 3, 1.0}
    assert r_precision(IMAGES, TEXTS, candidates=3, trials=4000, seed=0) == pytest.approx(
        2.25 / 3, abs=0.01)


def test_r_precision_chance_matches_unrelated_embeddings():
    rng = np.random.default_rng(4)
    scores = [r_precision(rng.normal(size=(10, 8)), rng.normal(size=(10, 8)), candidates=10,
                          trials=50, seed=seed) for seed in range(200)]
    assert np.mean(scores) == pytest.approx(r_precision_chance(10, 10), abs=0.02)
    assert r_precision_chance(3, 3) == pytest.approx((0 + 1 / 4 + 1) / 3)
    assert r_precision_chance(100_000, 100) == pytest.approx(1 / 100, rel=0.01)


def test_r_precision_of_aligned_embeddings_is_one():
    embeddings = np.random.default_rng(0).normal(size=(150, 32))
    assert r_precision(embeddings, 3.0 * embeddings) == 1.0


def test_r_precision_of_random_embeddings_is_chance():
    rng = np.random.default_rng(1)
    score = r_precision(rng.normal(size=(400, 32)), rng.normal(size=(400, 32)), candidates=20)
    assert score == pytest.approx(1 / 20, abs=0.02)


def test_r_precision_is_deterministic_for_a_seed():
    rng = np.random.default_rng(2)
    image, text = rng.normal(size=(120, 8)), rng.normal(size=(120, 8))
    assert r_precision(image, text, seed=3) == r_precision(image, text, seed=3)


def test_ties_count_as_misses():
    same = np.ones((100, 4))
    assert r_precision(same, same) == 0.0
    assert retrieval_recall(same, same, ks=(1,))["image_to_text_r@1"] == 0.0


def test_mean_cosine_is_reported_times_100():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[3.0, 0.0], [1.0, 0.0]])
    assert mean_cosine(a, b) == pytest.approx(50.0)
    assert mean_cosine(a, -a) == pytest.approx(-100.0)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="at least that many pairs"):
        r_precision(np.eye(5), np.eye(5), candidates=100)
    with pytest.raises(ValueError, match="candidates >= 2"):
        r_precision_chance(5, 1)
    with pytest.raises(ValueError, match="same shape"):
        mean_cosine(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"zero or non-finite rows \[1\]"):
        mean_cosine(np.array([[1.0, 0.0], [0.0, 0.0]]), np.ones((2, 2)))
