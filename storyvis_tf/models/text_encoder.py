"""Sentence and story text encoder: the DAMSM bi-LSTM of AttnGAN (Xu et al., 2018).

One sentence of token ids gives a feature per word (the forward and backward hidden states
concatenated) and a sentence vector (the two final hidden states concatenated). A story is the
frames' sentences encoded independently; its story vector is the mean of its sentence vectors
(the "story sentence" of the main paper, Sec. 3.2).
"""
import keras
from keras import ops

from storyvis_tf.text.vocabulary import PAD_ID


class TextEncoder(keras.Model):
    """Masked bi-LSTM over word embeddings.

    call(token_ids int [N, L]) -> {"words": [N, L, D], "sentence": [N, D], "mask": bool [N, L]},
    D = hidden_dim (hidden_dim / 2 per direction). Padding (id 0) is masked: the LSTM skips it, so
    the sentence vector does not depend on how much padding follows the sentence, and the word
    features at padded positions are zero.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, dropout: float,
                 **kwargs):
        super().__init__(**kwargs)
        if hidden_dim % 2:
            raise ValueError(f"text_encoder.hidden_dim must be even (each LSTM direction gets "
                             f"hidden_dim / 2 units), got {hidden_dim}")
        self.hidden_dim = hidden_dim
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self.lstm = keras.layers.Bidirectional(
            keras.layers.LSTM(hidden_dim // 2, return_sequences=True, return_state=True),
            name="bi_lstm")

    def call(self, token_ids, training=False):
        mask = ops.not_equal(token_ids, PAD_ID)
        embedded = self.embedding_dropout(self.embedding(token_ids), training=training)
        words, forward_h, _, backward_h, _ = self.lstm(embedded, mask=mask, training=training)
        words = words * ops.cast(mask, words.dtype)[..., None]
        return {"words": words,
                "sentence": ops.concatenate([forward_h, backward_h], axis=-1),
                "mask": mask}


def encode_stories(text_encoder: TextEncoder, token_ids, training=False) -> dict:
    """Encodes every sentence of a batch of stories in one pass.

    token_ids int [B, T, L] -> {"words": [B, T, L, D], "sentence": [B, T, D],
    "story": [B, D] (mean of the story's sentence vectors), "mask": bool [B, T, L]}.
    """
    frames, length = token_ids.shape[1], token_ids.shape[2]
    encoded = text_encoder(ops.reshape(token_ids, (-1, length)), training=training)
    dim = text_encoder.hidden_dim
    sentence = ops.reshape(encoded["sentence"], (-1, frames, dim))
    return {"words": ops.reshape(encoded["words"], (-1, frames, length, dim)),
            "sentence": sentence,
            "story": ops.mean(sentence, axis=1),
            "mask": ops.reshape(encoded["mask"], (-1, frames, length))}
