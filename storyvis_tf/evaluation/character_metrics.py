"""Character F1 and frame accuracy: do generated frames show the story's characters?

The field (DuCo / VLC protocol, DATASETS.md §5) scores generated frames with an Inception-v3
multi-label character classifier fine-tuned on the dataset's real frames (BCE, sigmoid >= 0.5).
Ours is the domain frame network trained on the same real frames
(`domain_features.train_frame_extractor`, `label_probabilities`), so the absolute numbers are
not the published ones; the metric definitions are.

Next to them, `label_prior_baseline` scores the predictor that never looks at a frame: it
predicts every character whose frequency in the training labels reaches the threshold. A model
is only drawing characters where it beats that.
"""
import numpy as np


def character_f1_and_frame_accuracy(pred_probs, true, threshold: float = 0.5) -> dict[str, float]:
    """Micro F1 over (frame, character) decisions and exact-match frame accuracy.

    Args:
      pred_probs: `[N, C]` classifier probabilities for N generated frames and C characters.
      true: `[N, C]` binary labels of the frames' sentences (the ground-truth characters).
      threshold: a character is predicted present when its probability is >= threshold.

    Returns:
      {"character_f1": 2 TP / (2 TP + FP + FN) over all N*C decisions (0 when there is no
       positive at all, as sklearn's f1_score(average="micro") the field calls),
       "frame_accuracy": share of frames whose whole predicted label vector equals `true`}.
    """
    pred_probs, true = np.asarray(pred_probs, np.float64), np.asarray(true)
    if pred_probs.ndim != 2 or pred_probs.shape != true.shape:
        raise ValueError(f"pred_probs and true must both be [N, C], got {pred_probs.shape} and "
                         f"{true.shape}")
    if pred_probs.shape[0] == 0:
        raise ValueError("no frames to score: pred_probs and true are empty")
    if not np.isin(true, (0, 1)).all():
        raise ValueError("true character labels must be 0/1")
    predicted, present = pred_probs >= threshold, true.astype(bool)
    true_positives = np.sum(predicted & present)
    errors = np.sum(predicted != present)  # FP + FN
    denominator = 2 * true_positives + errors
    return {"character_f1": float(2 * true_positives / denominator) if denominator else 0.0,
            "frame_accuracy": float(np.mean(np.all(predicted == present, axis=1)))}


def label_prior_baseline(train_labels, true, threshold: float = 0.5) -> dict:
    """Character F1 and frame accuracy of the image-blind label prior.

    The prior gives every frame the training split's per-character label frequencies as its
    probabilities, thresholded like the classifier: it predicts, for every frame, the characters
    present in at least `threshold` of the training frames (usually none, so its F1 is 0 and its
    frame accuracy is the share of frames without any character).

    Args:
      train_labels: `[M, C]` binary labels of the training frames.
      true: `[N, C]` binary labels of the scored frames.
      threshold: the classifier's decision threshold.

    Returns:
      `character_f1_and_frame_accuracy` of the prior on `true`, plus "predicted_characters":
      the indices of the characters it predicts for every frame.
    """
    train_labels, true = np.asarray(train_labels), np.asarray(true)
    if train_labels.ndim != 2 or len(train_labels) == 0 or not np.isin(train_labels, (0, 1)).all():
        raise ValueError(f"train_labels must be a non-empty 0/1 [M, C] array, got shape "
                         f"{train_labels.shape}")
    if true.ndim != 2 or true.shape[1] != train_labels.shape[1]:
        raise ValueError(f"true must be [N, C] with the training labels' C = "
                         f"{train_labels.shape[1]} characters, got {true.shape}")
    frequencies = train_labels.mean(axis=0)
    scores = character_f1_and_frame_accuracy(np.broadcast_to(frequencies, true.shape), true,
                                             threshold)
    return {**scores, "predicted_characters": np.flatnonzero(frequencies >= threshold).tolist()}
