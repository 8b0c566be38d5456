"""Character F1 (micro) and frame accuracy on hand-made predictions."""
import numpy as np
import pytest
from sklearn.metrics import f1_score

from storyvis_tf.evaluation.character_metrics import (character_f1_and_frame_accuracy,
                                                      label_prior_baseline)


def test_perfect_predictions_score_one():
    true = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 1]])
    scores = character_f1_and_frame_accuracy(true * 0.9 + 0.05, true)
    assert scores == {"character_f1": 1.0, "frame_accuracy": 1.0}


def test_known_confusion():
    true = np.array([[1, 0, 1],
                     [0, 1, 0]])
    probs = np.array([[0.9, 0.6, 0.2],    # TP, FP, FN
                      [0.1, 0.5, 0.4]])   # TN, TP (0.5 counts as present), TN
    scores = character_f1_and_frame_accuracy(probs, true)
    # TP = 2, FP = 1, FN = 1: F1 = 2*2 / (2*2 + 1 + 1); only the second frame is all right.
    assert scores["character_f1"] == pytest.approx(2.0 / 3.0)
    assert scores["frame_accuracy"] == pytest.approx(0.5)


def test_threshold_moves_the_decisions():
    true = np.array([[1, 0]])
    probs = np.array([[0.7, 0.6]])
    assert character_f1_and_frame_accuracy(probs, true)["frame_accuracy"] == 0.0
    assert character_f1_and_frame_accuracy(probs, true, threshold=0.65)["frame_accuracy"] == 1.0


def test_f1_is_sklearn_micro_f1_over_all_decisions():
    rng = np.random.default_rng(0)
    true = (rng.random((50, 9)) < 0.3).astype(int)
    probs = rng.random((50, 9))
    expected = f1_score(true, (probs >= 0.5).astype(int), average="micro")
    assert character_f1_and_frame_accuracy(probs, true)["character_f1"] == pytest.approx(expected)


def test_no_positive_anywhere_gives_f1_zero_like_sklearn():
    true = np.zeros((3, 2), int)
    scores = character_f1_and_frame_accuracy(np.full((3, 2), 0.1), true)
    assert scores == {"character_f1": 0.0, "frame_accuracy": 1.0}


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match=r"\[N, C\]"):
        character_f1_and_frame_accuracy(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="0/1"):
        character_f1_and_frame_accuracy(np.zeros((2, 3)), np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="empty"):
        character_f1_and_frame_accuracy(np.zeros((0, 3)), np.zeros((0, 3)))


def test_label_prior_predicts_the_characters_of_at_least_half_the_training_frames():
    train = np.array([[1, 0, 1],
                      [1, 0, 0],
                      [0, 1, 1],
                      [1, 0, 0]])            # frequencies 0.75, 0.25, 0.5: predicts 0 and 2
    true = np.array([[1, 0, 1],              # TP, TN, TP
                     [0, 1, 0],              # FP, FN, FP
                     [1, 0, 0]])             # TP, TN, FP
    scores = label_prior_baseline(train, true)
    # TP = 3, FP = 3, FN = 1: F1 = 6 / (6 + 4); only the first frame is all right.
    assert scores == {"character_f1": pytest.approx(0.6), "frame_accuracy": pytest.approx(1 / 3),
                      "predicted_characters": [0, 2]}
    assert label_prior_baseline(train, true, threshold=0.7)["predicted_characters"] == [0]


def test_label_prior_of_rare_characters_predicts_none():
    train = np.array([[1, 0], [0, 1], [0, 0]])
    true = np.array([[0, 0], [1, 0], [0, 0], [0, 1]])
    assert label_prior_baseline(train, true) == {"character_f1": 0.0, "frame_accuracy": 0.5,
                                                 "predicted_characters": []}


def test_label_prior_refuses_mismatched_labels():
    with pytest.raises(ValueError, match="C = 3 characters"):
        label_prior_baseline(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="train_labels must be a non-empty 0/1"):
        label_prior_baseline(np.zeros((0, 3)), np.zeros((2, 3)))
