"""AttnGAN's Deep Attentional Multimodal Similarity Model (DAMSM) losses (Xu et al. 2018).

Used twice in this project: to pretrain the text and image encoders (`damsm_loss`, AttnGAN
Eq. 14), and, in the GAN, as the paper's region-word (R-W) and story region-word (SR-W)
contrastive terms (`word_region_loss`, `story_region_word_loss`).

Equation numbers below are AttnGAN's. Where AttnGAN's paper and its code differ we follow the
paper and say so:
- Eq. 10 takes the 1/gamma2 power of the sum, R(Q, D) = (1/gamma2) log sum_w exp(gamma2 cos);
  AttnGAN's `words_loss` (and the story-visualization authors' copy of it) leaves the 1/gamma2
  out, which is the same as running ours with gamma3 multiplied by gamma2 (10 -> 50).
- Eq. 12-13 sum over the batch; the code (and we) take the mean, so the loss does not grow with
  the batch size.
Every text must have at least one real word (`word_mask` not all False).
"""
from keras import ops

from storyvis_tf.losses.contrastive import (diagonal_cross_entropy, l2_normalize,
                                            margin_softmax_of_scores, nt_xent_loss, require_pairs)

# Logit given to padded words: exp() of it is exactly 0 in float32, and unlike -inf it cannot
# turn a subtraction into NaN.
_MASKED_LOGIT = -1e9


def word_region_attention(regions, words, word_mask, gamma1):
    """Region-context vector of every word, AttnGAN Eq. 7-9.

    The word-region dot products s = e^T v are first normalised over the words (Eq. 8: for each
    region, which of the text's words it matches), then scaled by gamma1 and softmax-ed over the
    regions (Eq. 9) - the order of AttnGAN's `func_attention`. Padded words are left out of the
    word softmax, so they take no weight from real words; their own rows are finite and unused.

    Shapes: regions [..., R, D], words [..., L, D], word_mask [..., L] (true for real words). The
    leading axes broadcast, which is how `word_region_loss` pairs every text with every image.
    Returns (context [..., L, D], attention [..., L, R], each row summing to 1 over regions).
    """
    regions = ops.cast(regions, "float32")
    words = ops.cast(words, "float32")
    real_word = ops.expand_dims(ops.cast(word_mask, "bool"), -1)
    similarity = ops.matmul(words, ops.swapaxes(regions, -1, -2))
    word_normalised = ops.softmax(ops.where(real_word, similarity, _MASKED_LOGIT), axis=-2)
    attention = ops.softmax(gamma1 * word_normalised, axis=-1)
    return ops.matmul(attention, regions), attention


def word_matching_score(regions, words, word_mask, gamma1, gamma2):
    """Attention-driven image-text matching score R(Q, D), AttnGAN Eq. 10.

    (1/gamma2) * log sum_w exp(gamma2 * cos(c_w, e_w)) over the text's real words, with c_w the
    region-context vector of word w (`word_region_attention`). Shapes as in
    `word_region_attention`; returns [...].
    """
    context, _ = word_region_attention(regions, words, word_mask, gamma1)
    relevance = ops.sum(l2_normalize(context) * l2_normalize(words), axis=-1)
    real_word = ops.cast(word_mask, "bool")
    return ops.logsumexp(ops.where(real_word, gamma2 * relevance, _MASKED_LOGIT), axis=-1) / gamma2


def word_region_loss(regions, words, word_mask, gamma1, gamma2, gamma3):
    """DAMSM word loss L1^w + L2^w (AttnGAN Eq. 11-13); the paper's region-word (R-W) term.

    regions [N, R, D]: regional features of image i; words [N, L, D] and word_mask [N, L]: word
    features of text i. Every text is matched against every image of the batch (R(Q_j, D_i)),
    the gamma3-scaled scores are classified in both directions (image -> text, text -> image),
    and the two cross-entropies, each a mean over N, are summed.
    """
    image_to_text, text_to_image = diagonal_cross_entropy(
        gamma3 * region_word_scores(regions, words, word_mask, gamma1, gamma2))
    return image_to_text + text_to_image


def region_word_scores(regions, words, word_mask, gamma1, gamma2):
    """[N, N] matching scores R(Q_j, D_i) of every image i (rows) with every text j (columns),
    AttnGAN Eq. 10; shapes as in `word_region_loss`."""
    _require_words_and_regions(regions, words, word_mask, "region-word loss")
    score_text_image = word_matching_score(
        ops.expand_dims(regions, 0), ops.expand_dims(words, 1), ops.expand_dims(word_mask, 1),
        gamma1, gamma2)
    return ops.transpose(score_text_image)


def word_region_contrastive_loss(regions, words, word_mask, kind, gammas, margin=0.001,
                                 temperature=0.1):
    """The paper's region-word term in the contrastive form `kind` (config losses.contrastive),
    so that the switch acts at every level as Table 4's rows mean it:
      "mms"      Eq. 2 on gamma3 * R(Q_j, D_i): the DAMSM word loss with the margin delta
                 subtracted from the matched pairs' scores;
      "nt_xent"  Eq. 1 on R(Q_j, D_i) / temperature: the matching score, a cosine pooled over
                 words, plays the cosine of Eq. 1 (at temperature 1 / gamma3 it is the DAMSM
                 word loss itself).
    regions [N, R, D], words [N, L, D], word_mask [N, L]; gammas = (gamma1, gamma2, gamma3).
    Returns the sum of both directions' cross-entropies, each a mean over N.
    """
    gamma1, gamma2, gamma3 = gammas
    scores = region_word_scores(regions, words, word_mask, gamma1, gamma2)
    if kind == "mms":
        return margin_softmax_of_scores(gamma3 * scores, margin)
    if kind == "nt_xent":
        image_to_text, text_to_image = diagonal_cross_entropy(scores / temperature)
        return image_to_text + text_to_image
    raise ValueError(f"unknown contrastive loss kind {kind!r} (config losses.contrastive): "
                     "expected 'mms' (Eq. 2) or 'nt_xent' (Eq. 1)")


def story_words_and_regions(regions, words, word_mask):
    """regions [B, T, R, D], words [B, T, L, D], word_mask [B, T, L] -> one "image" of T*R
    regions and one "text" of T*L words per story: [B, T*R, D], [B, T*L, D], [B, T*L], the
    inputs of the story region-word (SR-W) term."""
    if len(regions.shape) != 4 or len(words.shape) != 4 or len(word_mask.shape) != 3:
        raise ValueError(
            "story region-word loss: expected regions [B, T, R, D], words [B, T, L, D] and "
            f"word_mask [B, T, L]; got {tuple(regions.shape)}, {tuple(words.shape)} and "
            f"{tuple(word_mask.shape)}")
    _, frames, num_regions, dim = regions.shape
    _, _, num_words, word_dim = words.shape
    return (ops.reshape(regions, (-1, frames * num_regions, dim)),
            ops.reshape(words, (-1, frames * num_words, word_dim)),
            ops.reshape(word_mask, (-1, frames * num_words)))


def story_region_word_loss(regions, words, word_mask, gamma1, gamma2, gamma3):
    """Story region-word (SR-W) term: `word_region_loss` between all regions of a story's frames
    and all words of its sentences.

    regions [B, T, R, D], words [B, T, L, D], word_mask [B, T, L] are flattened to one
    "image" of T*R regions and one "text" of T*L words per story, so every word attends over the
    whole story and the batch's B stories are the candidates.
    """
    return word_region_loss(*story_words_and_regions(regions, words, word_mask),
                            gamma1, gamma2, gamma3)


def sentence_image_loss(image_global, sentence, gamma3):
    """DAMSM sentence loss L1^s + L2^s (AttnGAN Sec. 3.4): cos(image_i, sentence_j) * gamma3,
    cross-entropy in both directions, each a mean over N, summed.

    image_global, sentence: [N, D]. This is `nt_xent_loss` at temperature 1 / gamma3.
    """
    require_pairs(image_global, sentence, "sentence_image_loss")
    return nt_xent_loss(image_global, sentence, temperature=1.0 / gamma3)


def damsm_loss(regions, words, word_mask, image_global, sentence, gamma1, gamma2, gamma3,
               word_weight=1.0):
    """Encoder pretraining objective, AttnGAN Eq. 14:
    word_weight * (L1^w + L2^w) + (L1^s + L2^s).

    With the default word_weight=1 this is exactly Eq. 14, as AttnGAN's `pretrain_DAMSM.py`
    trains it. (In AttnGAN's GAN, lambda multiplies both word and sentence terms of the
    generator loss, Eq. 3; that weighting belongs to the GAN objective, not here.)
    regions [N, R, D], words [N, L, D], word_mask [N, L], image_global [N, D], sentence [N, D].
    """
    return (word_weight * word_region_loss(regions, words, word_mask, gamma1, gamma2, gamma3)
            + sentence_image_loss(image_global, sentence, gamma3))


def _require_words_and_regions(regions, words, word_mask, loss_name):
    """Static shape check (unknown sizes pass): broadcasting would otherwise accept mismatched
    batches silently."""
    def differ(a, b):
        return a is not None and b is not None and a != b

    if (len(regions.shape) != 3 or len(words.shape) != 3 or len(word_mask.shape) != 2
            or any(differ(a, b) for a, b in zip(word_mask.shape, words.shape[:2]))
            or differ(regions.shape[0], words.shape[0])
            or differ(regions.shape[-1], words.shape[-1])):
        raise ValueError(
            f"{loss_name}: expected regions [N, R, D], words [N, L, D] and word_mask [N, L] with "
            f"the same N and D; got regions {tuple(regions.shape)}, words {tuple(words.shape)} "
            f"and word_mask {tuple(word_mask.shape)}")
