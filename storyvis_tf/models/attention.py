"""Word-level spatial attention in the generator: WSA (AttnGAN) and BWSA (main paper, Sec. 3.5).

Both take image features [N, h, w, C], word features [N, L, Dt] and the word mask [N, L], and
return a word-context map [N, h, w, C] that the generator merges with the image features. Padded
words get zero weight, so the outputs do not depend on what the padding holds. Attention logits,
softmaxes and relation sums are computed in float32 under any mixed-precision policy; the
context comes back in the layer's compute dtype.
"""
import keras
from keras import ops

_MASKED_LOGIT = -1e9  # finite, so a sentence with no words gives zero weights, not NaN


def _masked_word_softmax(logits, word_mask):
    """Softmax over words (the last axis) of float32 logits [N, Q, L]; padded words get 0."""
    mask = word_mask[:, None, :]
    weights = ops.softmax(ops.where(mask, logits, _MASKED_LOGIT), axis=-1)
    return weights * ops.cast(mask, "float32")


class WordSpatialAttention(keras.layers.Layer):
    """WSA (AttnGAN, Xu et al. 2018): each image region attends over the sentence's words.

    Words are projected into the image feature space (e' = U e, AttnGAN's 1x1 conv); region q
    weighs word l by softmax_l(h_q . e'_l) and its context is sum_l weight_ql e'_l. All weights
    are >= 0: a word can only highlight a region more or less, never push it down.

    call(features [N, h, w, C], words [N, L, Dt], word_mask bool [N, L]) ->
    {"context": [N, h, w, C], "weights": float32 [N, h*w, L]}.
    """

    def build(self, features_shape, words_shape, word_mask_shape):
        self.word_projection = keras.layers.Dense(features_shape[-1], use_bias=False,
                                                  name="word_projection")
        self.word_projection.build(words_shape)

    def _inputs(self, features, words, word_mask):
        """Regions [N, h*w, C], projected words [N, L, C] (both float32) and a bool mask."""
        height, width, channels = features.shape[1:]
        regions = ops.cast(ops.reshape(features, (-1, height * width, channels)), "float32")
        projected = ops.cast(self.word_projection(words), "float32")
        return regions, projected, ops.cast(word_mask, "bool")

    def _context(self, attention, projected, features):
        """sum_l attention_ql e'_l, back on the feature map's grid and dtype."""
        context = ops.reshape(ops.matmul(attention, projected), (-1, *features.shape[1:]))
        return ops.cast(context, self.compute_dtype)

    @staticmethod
    def _word_weights(regions, projected, mask):
        """softmax_l(h_q . e'_l) [N, h*w, L]: AttnGAN's weights, each region's sum to 1."""
        return _masked_word_softmax(ops.matmul(regions, ops.transpose(projected, (0, 2, 1))), mask)

    def call(self, features, words, word_mask):
        regions, projected, mask = self._inputs(features, words, word_mask)
        weights = self._word_weights(regions, projected, mask)
        return {"context": self._context(weights, projected, features), "weights": weights}


class BidirectionalWordSpatialAttention(WordSpatialAttention):
    """BWSA (main paper, Sec. 3.5, Fig. 2): WSA whose weights are signed by a relation matrix.

    The relation between region q and word l is alpha_ql = tanh(tanh(W_img h_q) . tanh(W_txt e_l))
    in [-1, 1], so a word can push a region down as well as up; it is the matrix shown as heat
    maps in the paper's Fig. 5. As in the authors' code, the WSA weights are normalised over words
    and then over regions, multiplied element-wise by alpha, and the context is
    sum_l (weights * alpha)_ql e'_l.

    call(features [N, h, w, C], words [N, L, Dt], word_mask bool [N, L]) ->
    {"context": [N, h, w, C], "weights": float32 [N, h*w, L], "relations": float32 [N, h*w, L]}.
    """

    def build(self, features_shape, words_shape, word_mask_shape):
        super().build(features_shape, words_shape, word_mask_shape)
        channels = features_shape[-1]
        self.region_relation = keras.layers.Dense(channels, use_bias=False, name="region_relation")
        self.word_relation = keras.layers.Dense(channels, use_bias=False, name="word_relation")
        self.region_relation.build(features_shape)
        self.word_relation.build(words_shape)

    def call(self, features, words, word_mask):
        regions, projected, mask = self._inputs(features, words, word_mask)
        word_mask_float = ops.cast(mask, "float32")[:, None, :]
        weights = ops.softmax(self._word_weights(regions, projected, mask), axis=1)
        weights = weights * word_mask_float
        region_codes = ops.tanh(ops.cast(
            ops.reshape(self.region_relation(features), (-1, *regions.shape[1:])), "float32"))
        word_codes = ops.tanh(ops.cast(self.word_relation(words), "float32"))
        relations = ops.tanh(
            ops.matmul(region_codes, ops.transpose(word_codes, (0, 2, 1)))) * word_mask_float
        return {"context": self._context(weights * relations, projected, features),
                "weights": weights, "relations": relations}
