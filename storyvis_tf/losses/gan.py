"""Adversarial losses (paper Eq. 8, 10), the auxiliary character classification of the StoryGAN
code line, and the conditioning-augmentation KL term (StackGAN): single terms. The full
objectives of D and G that sum them with the contrastive and clustering terms (Eq. 7, 9) are
`storyvis_tf.training.objectives.discriminator_losses` / `generator_losses`
(docs/PAPER_MAP.md).

The discriminator gives one logit per frame, D = sigmoid(logit); logits [B, T] (B stories of T
frames). The softplus forms -log sigmoid(x) = softplus(-x) and -log(1 - sigmoid(x)) = softplus(x)
stay finite for logits of any size.
"""
from keras import ops


def discriminator_gan_loss(real_logits, fake_logits, mismatched_logits=None):
    """Eq. 8: -log D(X^r) - log(1 - D(X^f)), averaged over the story's frames and the batch.

    real_logits, fake_logits: [B, T]; mismatched_logits: [B, T] or None -> scalar float32.
    With mismatched_logits (real frames paired with another story's sentences), GAN-INT-CLS's
    matching-aware form: the two negatives share the fake side,
    -log D(X^r) - (log(1 - D(X^f)) + log(1 - D(X^w))) / 2.

    Eq. 8 as printed wraps a log around the sum of the two expectations; we read it as the
    standard binary cross-entropy (real -> 1, fake -> 0) that the authors' code trains with.
    """
    fake = ops.mean(ops.softplus(ops.cast(fake_logits, "float32")))
    if mismatched_logits is not None:
        fake = (fake + ops.mean(ops.softplus(ops.cast(mismatched_logits, "float32")))) / 2
    return ops.mean(ops.softplus(-ops.cast(real_logits, "float32"))) + fake


def generator_gan_loss(fake_logits):
    """Eq. 10, non-saturating: -log D(X^f), averaged over the story's frames and the batch.
    fake_logits: [B, T] -> scalar float32."""
    return ops.mean(ops.softplus(-ops.cast(fake_logits, "float32")))


def character_loss(logits, labels):
    """Multi-label classification of which characters a frame shows: binary cross-entropy per
    character, averaged over characters, frames and the batch (PyTorch's MultiLabelSoftMargin,
    which the StoryGAN code line applies to D's features of real frames for D and of fakes, with
    the real story's labels, for G: AC-GAN's auxiliary classifier).

    logits, labels: [..., C] with labels in {0, 1} (or soft targets in [0, 1]).
    """
    logits = ops.cast(logits, "float32")
    labels = ops.cast(labels, "float32")
    return ops.mean(labels * ops.softplus(-logits) + (1.0 - labels) * ops.softplus(logits))


def kl_loss(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) of conditioning augmentation, in StackGAN's form.

    -0.5 * (1 + logvar - mu^2 - exp(logvar)), averaged over the batch AND the condition
    dimensions, exactly as StackGAN, StoryGAN and the story-visualization authors' code compute
    it (so config `losses.kl_weight` = 1 means what it means there); the per-story KL summed over
    dimensions is this times the condition size. mu, logvar: [B, C].
    """
    mu = ops.cast(mu, "float32")
    logvar = ops.cast(logvar, "float32")
    return -0.5 * ops.mean(1.0 + logvar - ops.square(mu) - ops.exp(logvar))
