"""Text-image alignment metrics over paired embeddings (row i of both arrays = story or sentence i):
R-precision (AttnGAN / DuCo), recall@k in both directions, and the main paper's Cosine.

All similarities are cosines. A tie with a wrong candidate counts as a miss, so identical
embeddings for different items can never score above chance.
"""
import numpy as np

# Rows of the similarity matrix computed at once: bounds memory at _ROW_CHUNK x N floats.
_ROW_CHUNK = 1024


def r_precision(image_embeddings, text_embeddings, candidates: int = 100, trials: int = 10,
                seed: int = 0) -> float:
    """Share of images whose own text outranks `candidates - 1` random other texts.

    For each image i and each trial, `candidates - 1` distinct texts j != i are drawn; the
    image scores a hit when cos(image_i, text_i) is greater than every cos(image_i, text_j).
    The result is the mean over images and trials; chance level is 1 / candidates.

    Args:
      image_embeddings, text_embeddings: `[N, D]`, N >= candidates.
      candidates: texts ranked per image, the true one included (the field: 100; config
        `pretrain.r_precision_candidates`).
      trials: repetitions with fresh random distractors (the field: 10).
      seed: seeds the distractor draws.
    """
    image, text = _paired_unit_rows(image_embeddings, text_embeddings)
    n = len(image)
    if candidates < 2 or n < candidates:
        raise ValueError(f"r_precision ranks each text among {candidates} candidates, so it needs "
                         f"candidates >= 2 and at least that many pairs, got {n}")
    rng = np.random.default_rng(seed)
    # Offsets 1..n-1 from i name every other item exactly once, so draws are distinct and != i.
    offsets = 1 + np.stack([np.stack([rng.choice(n - 1, candidates - 1, replace=False)
                                      for _ in range(n)]) for _ in range(trials)])
    distractors = (np.arange(n)[None, :, None] + offsets) % n  # [trials, N, candidates - 1]
    matching = np.sum(image * text, axis=1)
    hits = np.empty((trials, n), dtype=bool)
    for start in range(0, n, _ROW_CHUNK):
        rows = slice(start, start + _ROW_CHUNK)
        similarities = image[rows] @ text.T
        distractor_similarities = np.take_along_axis(similarities[None], distractors[:, rows],
                                                     axis=2)
        hits[:, rows] = matching[rows] > distractor_similarities.max(axis=-1)
    return float(hits.mean())


def retrieval_recall(image_embeddings, text_embeddings, ks=(1, 5)) -> dict[str, float]:
    """Recall@k of retrieving the paired item among all N, in both directions.

    Returns:
      {"image_to_text_r@k": share of images whose own text is among their k most similar texts,
       "text_to_image_r@k": the same from texts to images} for every k in `ks`.
    """
    image, text = _paired_unit_rows(image_embeddings, text_embeddings)
    ranks = {"image_to_text": _ranks_of_pairs(image, text),
             "text_to_image": _ranks_of_pairs(text, image)}
    return {f"{direction}_r@{k}": float(np.mean(rank < k))
            for direction, rank in ranks.items() for k in ks}


def mean_cosine(a, b) -> float:
    """The main paper's Cosine: 100 x the mean cosine similarity of paired rows of `a` and `b`
    (`[N, D]` each, e.g. sentence and generated-image embeddings), in [-100, 100]."""
    a, b = _paired_unit_rows(a, b)
    return float(100.0 * np.mean(np.sum(a * b, axis=1)))


def _ranks_of_pairs(queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each query i: how many keys j != i are at least as similar as its own key i."""
    matching = np.sum(queries * keys, axis=1)
    ranks = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), _ROW_CHUNK):
        rows = np.arange(start, min(start + _ROW_CHUNK, len(queries)))
        at_least_as_close = (queries[rows] @ keys.T) >= matching[rows, None]
        at_least_as_close[np.arange(len(rows)), rows] = False
        ranks[rows] = at_least_as_close.sum(axis=1)
    return ranks


def _paired_unit_rows(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 rows of unit L2 norm, after checking they pair up."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or a.shape != b.shape or len(a) == 0:
        raise ValueError(f"embeddings must be two non-empty [N, D] arrays of the same shape, got "
                         f"{a.shape} and {b.shape}")
    return _unit_rows(a, "first"), _unit_rows(b, "second")


def _unit_rows(x: np.ndarray, which: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        bad = np.flatnonzero(~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0))
        raise ValueError(f"the {which} embeddings have zero or non-finite rows {bad[:10].tolist()}:"
                         " a cosine is undefined there")
    return x / norms
