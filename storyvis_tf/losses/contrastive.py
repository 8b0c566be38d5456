"""Contrastive losses between visual and language embeddings (paper Sec. 3.2).

`mms_loss` is the paper's choice (Eq. 2: masked margin softmax over dot products of the projected
embeddings f(v), g(s)); `nt_xent_loss` is the alternative of Eq. 1 and of the authors' code
(cosine similarity / tau). Table 4 compares the two; `contrastive_loss` picks one by name
(config `losses.contrastive`).

Both are symmetric over the batch, with the positive pair on the diagonal of the score matrix:
every visual item is classified among all sentences (rows) and every sentence among all visual
items (columns). The two directions are SUMMED, each a mean over the batch: Eq. 2 writes the sum,
and the authors' code sums the two directions of its NT-Xent too, so switching the kind leaves the
term's weight in the objective unchanged.

The pieces shared with the DAMSM and clustering losses (`l2_normalize`,
`cosine_similarity_matrix`, `diagonal_cross_entropy`) live here. Every loss computes in float32
whatever its inputs' dtype, so it is safe under mixed precision.
"""
from keras import ops

# AttnGAN clamps the product of norms at 1e-8; flooring each norm keeps padded (all-zero) word
# vectors at zero with finite gradients.
_NORM_FLOOR = 1e-8


def l2_normalize(x, axis=-1):
    """`x / ||x||` along `axis` in float32, the norm floored at 1e-8."""
    x = ops.cast(x, "float32")
    squared_norm = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squared_norm, _NORM_FLOOR ** 2))


def cosine_similarity_matrix(a, b):
    """Cosine similarity of every row of `a` [N, D] with every row of `b` [M, D] -> [N, M]."""
    return ops.matmul(l2_normalize(a), ops.transpose(l2_normalize(b)))


def diagonal_cross_entropy(scores):
    """Cross-entropy of a square score matrix whose positive pairs lie on the diagonal.

    `scores[i, j]` scores visual item i against language item j. Returns the pair
    (visual -> language: softmax over each row, language -> visual: softmax over each column),
    each the mean over the N items.
    """
    positives = ops.diagonal(scores)
    visual_to_language = ops.mean(ops.logsumexp(scores, axis=1) - positives)
    language_to_visual = ops.mean(ops.logsumexp(scores, axis=0) - positives)
    return visual_to_language, language_to_visual


def require_pairs(visual, language, loss_name):
    """Both embeddings must be [N, D] with the same shape: broadcasting would silently pair
    the wrong items."""
    if len(visual.shape) != 2 or tuple(visual.shape) != tuple(language.shape):
        raise ValueError(
            f"{loss_name}: visual and language embeddings must both be [N, D] with the same "
            f"shape; got visual {tuple(visual.shape)} and language {tuple(language.shape)}")


def mms_loss(visual, language, margin=0.001):
    """Masked margin softmax, Eq. 2.

    visual, language: [N, D] projected embeddings f(v_i), g(s_i); pair i is positive, every other
    in-batch pairing negative. Logits are plain dot products (the paper's "learned embeddings'
    dot product", no normalisation); the margin `delta` is subtracted from the positive logits
    only, so the positive must beat the negatives by delta. Returns the sum of the
    image -> text and text -> image cross-entropies, each a mean over N.
    """
    require_pairs(visual, language, "mms_loss")
    scores = ops.matmul(ops.cast(visual, "float32"), ops.transpose(ops.cast(language, "float32")))
    return margin_softmax_of_scores(scores, margin)


def margin_softmax_of_scores(scores, margin):
    """Eq. 2 on a square score matrix [N, N] (positive pairs on the diagonal): the margin
    subtracted from the positives, then the image -> text and text -> image cross-entropies,
    each a mean over N, summed. `mms_loss` scores dot products; the region-word levels score
    attention-matched words (`damsm.word_region_contrastive_loss`)."""
    scores = ops.cast(scores, "float32")
    scores = scores - margin * ops.eye(ops.shape(scores)[0], dtype="float32")
    visual_to_language, language_to_visual = diagonal_cross_entropy(scores)
    return visual_to_language + language_to_visual


def nt_xent_loss(visual, language, temperature=0.1):
    """Normalised temperature-scaled cross-entropy, Eq. 1, made symmetric as in the authors' code.

    visual, language: [N, D]; logits are cos(v_i, s_j) / tau. Returns the sum of the
    image -> text and text -> image cross-entropies, each a mean over N.
    """
    require_pairs(visual, language, "nt_xent_loss")
    scores = cosine_similarity_matrix(visual, language) / temperature
    visual_to_language, language_to_visual = diagonal_cross_entropy(scores)
    return visual_to_language + language_to_visual


def contrastive_loss(visual, language, kind="mms", margin=0.001, temperature=0.1):
    """The contrastive loss named by `kind` (config `losses.contrastive`): "mms" (Eq. 2, uses
    `margin`) or "nt_xent" (Eq. 1, uses `temperature`)."""
    if kind == "mms":
        return mms_loss(visual, language, margin)
    if kind == "nt_xent":
        return nt_xent_loss(visual, language, temperature)
    raise ValueError(f"unknown contrastive loss kind {kind!r} (config losses.contrastive): "
                     "expected 'mms' (Eq. 2) or 'nt_xent' (Eq. 1)")
