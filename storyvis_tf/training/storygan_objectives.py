"""StoryGAN's objective (`papers/storygan-notes.txt`, "Training strategy") as dicts of named
terms, backend-agnostic (keras.ops only), with the same interface as `objectives`
(`discriminator_losses`, `generator_losses`), so a train step of either backend trains the
StoryGAN family by the same gradient plumbing:

  min_theta max_{psi_I, psi_S}  alpha L_image + beta L_story + L_KL

Terms, by key:
  image          L_image: D_I's binary cross-entropy over every (frame, sentence, story) triple,
                 real -> 1, fake -> 0 (G: non-saturating -log D_I of its frames), averaged over
                 frames and stories; with losses.mismatched_pairs real frames under another
                 story's sentences are negatives too (StoryGAN's code, after StackGAN:
                 real + (fake + wrong) / 2; the paper's L_image has no such term);
  story          L_story: the same for D_S over whole stories (and mismatched stories);
  interpolation  with model.text_interpolation, G only: GAN-INT's term on D_I;
  kl             KL of the story encoder's conditioning augmentation (G only);
  total          D: alpha image + beta story;
                 G: alpha (image + interpolation) + beta story + losses.kl_weight kl.
alpha, beta = model.storygan.image_weight, story_weight. StoryGAN's terms compare no pairs
across the batch, so `gather` is not read (kept for the shared interface). `objectives`'
entry points (`discriminator_losses`, `generator_losses`, `frame_logits`) hand over to these
under model.family = "storygan", so a train step written against them trains StoryGAN too.
"""
from collections.abc import Callable

from keras import ops

from storyvis_tf.losses.gan import discriminator_gan_loss, generator_gan_loss, kl_loss


def discriminator_logits(networks, images, text, training=True) -> dict:
    """{"image": [B, T], "story": [B, 1]} logits of the StoryGAN discriminators for stories
    `images` [B, T, H, W, 3] told by `text` (`encode_stories` output)."""
    logits = networks.discriminator({"images": images, "sentence": text["sentence"],
                                     "story": text["story"]}, training=training)
    return {"image": logits["image"], "story": logits["story"][:, None]}


def discriminator_losses(networks, config, real_images, fake_images, text,
                         gather: Callable | None = None, mismatched_text=None, labels=None,
                         mismatched_labels=None):
    """D_I's and D_S's losses on real stories and fakes (whose gradient is stopped here).
    Arguments as `objectives.discriminator_losses` (labels are not read). Returns (terms, None):
    no clustering features."""
    real = discriminator_logits(networks, real_images, text)
    fake = discriminator_logits(networks, ops.stop_gradient(fake_images), text)
    mismatched = {"image": None, "story": None}
    if config.losses.mismatched_pairs:
        if mismatched_text is None:
            raise ValueError("losses.mismatched_pairs needs the mismatched_text of the batch")
        mismatched = discriminator_logits(networks, real_images, mismatched_text)
    terms = {name: discriminator_gan_loss(real[name], fake[name], mismatched[name])
             for name in ("image", "story")}
    terms["total"] = storygan_objective(terms, config)
    return terms, None


def generator_losses(networks, config, generated, text, gather: Callable | None = None,
                     labels=None):
    """G's terms on its output `generated` ("images", and "mu", "logvar" with conditioning
    augmentation, "interpolated" with model.text_interpolation). Arguments as
    `objectives.generator_losses`."""
    fake = discriminator_logits(networks, generated["images"], text)
    terms = {name: generator_gan_loss(fake[name]) for name in ("image", "story")}
    if "interpolated" in generated:
        interpolated = generated["interpolated"]
        terms["interpolation"] = generator_gan_loss(discriminator_logits(
            networks, interpolated["images"], interpolated["text"])["image"])
    if "mu" in generated:
        terms["kl"] = kl_loss(generated["mu"], generated["logvar"])
    terms["total"] = storygan_objective(terms, config)
    return terms


def storygan_objective(terms: dict, config):
    """alpha (L_image + GAN-INT's term) + beta L_story + kl_weight L_KL over the terms present."""
    settings = config.model.storygan
    total = (settings.image_weight * (terms["image"] + terms.get("interpolation", 0.0))
             + settings.story_weight * terms["story"])
    if "kl" in terms:
        total = total + config.losses.kl_weight * terms["kl"]
    return total


def loss_term_names(config) -> dict[str, tuple[str, ...]]:
    """The keys of `discriminator_losses` ("d") and `generator_losses` ("g") under `config`."""
    interpolation = ("interpolation",) if config.model.text_interpolation else ()
    kl = ("kl",) if config.generator.conditioning_augmentation else ()
    return {"d": ("image", "story", "total"),
            "g": ("image", "story", *interpolation, *kl, "total")}
