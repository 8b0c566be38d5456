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

    For each image i and each trial, `candidates - 1` mismatched texts are drawn independently
    and uniformly, WITH replacement, from the N - 1 texts j != i; the image scores a hit when
    cos(image_i, text_i) is greater than every drawn cos(image_i, text_j). The result is the
    mean over images and trials; its chance level is `r_precision_chance(N, candidates)`.

    The draw is the field's: AttnGAN's R-precision as implemented in DM-GAN's evaluation
    (`get_mis_caption`) picks each of the 99 mismatched captions of a query with an independent
    `random.randint` over the whole test set. Unlike a draw without replacement, it gives every
    trial a different candidate set even when N == candidates (then without replacement every
    trial ranks the same N - 1 others), so the trials average over candidate sets as intended.
    The price: when N is not much larger than `candidates`, a draw may repeat a text, which
    makes a hit slightly easier than 1 in `candidates` by chance (1.57% for N = candidates =
    100, 1.27% for N = 200; 1 / candidates as N grows).

    Args:
      image_embeddings, text_embeddings: `[N, D]`, N >= candidates.
      candidates: texts ranked per image, the true one included (the field: 100; config
        `pretrain.r_precision_candidates`).
      trials: repetitions with fresh random mismatched texts (the field: 10).
      seed: seeds the draws.
    """
    image, text = _paired_unit_rows(image_embeddings, text_embeddings)
    n = len(image)
    _check_candidates(n, candidates)
    rng = np.random.default_rng(seed)
    # Offsets 1..n-1 from i name every other item, so each draw is != i.
    offsets = 1 + rng.integers(0, n - 1, size=(trials, n, candidates - 1), dtype=np.int32)
    mismatched = (np.arange(n)[None, :, None] + offsets) % n  # [trials, N, candidates - 1]
    matching = np.sum(image * text, axis=1)
    hits = np.empty((trials, n), dtype=bool)
    for start in range(0, n, _ROW_CHUNK):
        rows = slice(start, start + _ROW_CHUNK)
        similarities = image[rows] @ text.T
        mismatched_similarities = np.take_along_axis(similarities[None], mismatched[:, rows],
                                                     axis=2)
        hits[:, rows] = matching[rows] > mismatched_similarities.max(axis=-1)
    return float(hits.mean())


def r_precision_chance(pairs: int, candidates: int) -> float:
    """Expected `r_precision` of embeddings unrelated to their pairs, for N = `pairs`.

    The own text's similarity is above r of the N - 1 others, r uniform on 0..N-1 by chance,
    and all `candidates - 1` draws with replacement fall among those r with probability
    (r / (N - 1)) ** (candidates - 1); the chance level is the mean over r (1 / candidates in
    the limit of many pairs).
    """
    _check_candidates(pairs, candidates)
    below = np.arange(pairs, dtype=np.float64) / (pairs - 1)
    return float(np.mean(below ** (candidates - 1)))


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


def _check_candidates(pairs: int, candidates: int) -> None:
    if candidates < 2 or pairs < candidates:
        raise ValueError(f"r_precision ranks each text among {candidates} candidates, so it needs "
                         f"candidates >= 2 and at least that many pairs, got {pairs}")


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
