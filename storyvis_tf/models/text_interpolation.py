"""GAN-INT (Reed et al. 2016, "Learning with manifold interpolation"; the survey slides, C):
the generator also draws images for text embeddings interpolated between two stories,
beta phi(t1) + (1 - beta) phi(t2), which the discriminator judges against the interpolated
text. There is no real image for them, so the term is the generator's only
(`E[log(1 - D(G(z, beta phi(t1) + (1 - beta) phi(t2))))]`); D keeps learning real, fake
(and mismatched) pairs alone. Switched on by config.model.text_interpolation.
"""
import keras
from keras import ops

_TEXT_KEYS = ("sentence", "words", "story")


def interpolated_text(inputs: dict, beta: float) -> dict:
    """Generator inputs whose text embeddings ("sentence" [B, T, D], "words" [B, T, L, D],
    "story" [B, D]) are beta * this story's + (1 - beta) * the next story's in the batch
    (the last story pairs with the first; a batch of one story interpolates with itself);
    "word_mask" [B, T, L] is the union of the two masks (a word slot of either sentence);
    character labels, if given, interpolate the same way. Noise stays the story's own."""
    mixed = dict(inputs)
    for key in (*_TEXT_KEYS, "labels"):
        if key in inputs:
            x = ops.cast(inputs[key], "float32")
            mixed[key] = beta * x + (1.0 - beta) * ops.roll(x, 1, axis=0)
    mask = ops.cast(inputs["word_mask"], "bool")
    mixed["word_mask"] = ops.logical_or(mask, ops.roll(mask, 1, axis=0))
    return mixed


class TextInterpolation(keras.Model):
    """A story generator that, in training, also generates from interpolated text.

    call(inputs, training) -> the wrapped generator's outputs; in training also
    "interpolated": {"images": [B, T, H, W, 3], "text": {"sentence", "words", "mask",
    "story"}, the interpolated text in `encode_stories`' layout, for D}. At inference it is
    the wrapped generator (the export, samples and evaluation see no difference). The wrapped
    generator's attention stages (BWSA relation maps of the export) stay reachable.
    """

    def __init__(self, generator, beta: float, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"model.interpolation_beta must lie in [0, 1], got {beta}")
        self.generator, self.beta = generator, beta

    @property
    def attention_stages(self):
        return self.generator.attention_stages

    def call(self, inputs, training=False):
        outputs = dict(self.generator(inputs, training=training))
        if training:
            mixed = interpolated_text(inputs, self.beta)
            outputs["interpolated"] = {
                "images": self.generator(mixed, training=True)["images"],
                "text": {"sentence": mixed["sentence"], "words": mixed["words"],
                         "mask": mixed["word_mask"], "story": mixed["story"]}}
        return outputs
