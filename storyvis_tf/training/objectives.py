"""The story GAN's full objectives, the one home of what each network minimises, as dicts of
named terms (backend-agnostic, keras.ops only): `discriminator_losses` (paper Eq. 7-8, + R1:
`r1_score`, `r1_penalty`, `add_r1`) and `generator_losses` (Eq. 9-10). The single terms live in
`storyvis_tf.losses`; a train step (TF: `story_gan`, JAX: `jax_step`) only does the gradient
plumbing around these. Under model.family = "storygan" they and
`frame_logits` hand over to StoryGAN's objective (`storygan_objectives`); the dynamic-block family
uses these terms as they are (docs/MODEL_FAMILIES.md).

Terms, by key (a term switched off in `config.losses` is absent from the dict, so the logged
metrics show what was trained):
  gan      Eq. 8 for D (real -> 1, fake -> 0), Eq. 10 for G (non-saturating), per-frame logits
           averaged over each story's frames. With losses.mismatched_pairs, D also learns real
           frames paired with another story's sentences as negatives (GAN-INT-CLS); with a
           joint discriminator, its unconditional logit adds the same losses without the
           mismatched pairs, weighted by losses.unconditional_weight (StackGAN++).
           With discriminator.label_projection every conditional logit also takes its
           frames' character labels (mismatched pairs: the other story's labels); with
           discriminator.story_condition, its frames' story vector.
  si_ss    story image - story sentence contrastive term: f(story image) vs g(story sentence);
           the story image is the mean of the frames' global features (the paper,
           losses.story_image = "feature_mean") or the global feature of the pixel-wise mean
           frame (the authors' code, "pixel_mean"); the story sentence is the mean sentence
           vector.
  i_s      image - sentence: f(frame global) vs g(sentence), over all frames of the batch.
  r_w      region - word: the DAMSM word loss (AttnGAN) between f(regions) and g(words) of every
           (frame, sentence) pair.
  sr_w     story region - word: the same between all regions and all words of a story.
           Discriminator only: Eq. 9 has no SR-W term.
  cluster  Eq. 5 of the clustering features (fusion X = f(v_region) g(s_word)^T, Eq. 3, or the
           individual features) against the clustering memory's centroids; 0 until the online
           memory has been clustered once.
  character  with losses.character_classification (not in the paper; the StoryGAN code
           line's `cate_classify`, AC-GAN): D's character head classifies which characters real
           frames show (D) and the fakes must show their stories' characters (G), multi-label
           binary cross-entropy against the frames' labels. With losses.character_fake_frames
           D's term is real + fake: its classifier also learns the fakes with their stories'
           labels (AC-GAN's original form, Odena et al. 2017).
  kl       KL of the generator's conditioning augmentation (G only, when it is on).
  interpolation  with model.text_interpolation, G only: GAN-INT's term (Reed et al. 2016),
           -log D of the fakes drawn for text interpolated between two stories
           (`models.text_interpolation`), weighted like gan; D never sees them.
  r1       with losses.r1_gamma > 0, D only: the R1 gradient penalty on real frames,
           `r1_penalty` of the gradient of `r1_score` with respect to the real frames, added to
           D's total as r1_gamma / 2 * r1 (`add_r1`); the input gradient is the one piece a
           train step computes with its backend's autodiff.
  total    what is differentiated:
           D: gan_weight * gan + character_weight * character
              + si_ss + i_s + r_w + sr_w + cluster                               (Eq. 7)
           G: generator_weight * (gan_weight * gan + character_weight * character
                                  + generator_alignment_weight * (si_ss + i_s + r_w + cluster))
              + kl_weight * kl                                                  (Eq. 9 + KL)
           The generator weight (5) and the unit KL weight are the authors' code's
           (`5 x (GAN + contrastive + DAMSM) + 1 x KL`); Eq. 9 itself is unweighted, as is
           the default generator_alignment_weight = 1. A smaller one keeps a generator that
           cannot draw yet from fooling the frozen image encoder (docs/REPRODUCTION_NOTES.md).
Every contrastive level uses MMS (Eq. 2) or NT-Xent (Eq. 1) by `losses.contrastive`: at the
region-word levels over the DAMSM matching scores (`damsm.word_region_contrastive_loss`), whose
smoothing factors are the pretraining ones (`pretrain.gamma1..3`), without AttnGAN's lambda.

Who learns what (Sec. 3.4): the image and text encoders are frozen; D's contrastive and
clustering terms are computed on REAL pairs and train the projection heads f, g (owned by the
discriminator's optimiser); G's terms are computed on its fakes, through the frozen image
encoder and heads, and train only the generator.

Distribution: contrastive terms classify each pair among the batch's other pairs, so their
value depends on the batch. `gather` maps a replica's [n, ...] tensor to the global batch's
[N, ...] (an all-gather whose gradient reaches every replica's slice); the contrastive terms are
computed on the global batch, the per-example terms (GAN, cluster, KL) on the replica's own.
Divided by the number of replicas, every term then sums to the same gradient as on one device.
"""
from collections.abc import Callable

from keras import ops

from storyvis_tf.losses.contrastive import contrastive_loss
from storyvis_tf.losses.damsm import story_words_and_regions, word_region_contrastive_loss
from storyvis_tf.losses.gan import (character_loss, discriminator_gan_loss, generator_gan_loss,
                                    kl_loss)
from storyvis_tf.models.fusion import fusion_features
from storyvis_tf.models.image_encoder import encode_story_frames
from storyvis_tf.training import storygan_objectives
from storyvis_tf.training.clustering_memory import clustering_features

# Config switch of each contrastive term (config.losses).
CONTRASTIVE_SWITCHES = {"si_ss": "story_image_story_sentence", "i_s": "image_sentence",
                        "r_w": "region_word", "sr_w": "story_region_word"}
# Eq. 9: the generator's contrastive terms.
GENERATOR_CONTRASTIVE = ("si_ss", "i_s", "r_w")


def single_replica(x):
    """`gather` on one device: the local batch is the global batch."""
    return x


def discriminator_losses(networks, config, real_images, fake_images, text,
                         gather: Callable = single_replica, mismatched_text=None, labels=None,
                         mismatched_labels=None):
    """Eq. 7-8 on a batch of real stories and (gradient-stopped) fakes.

    networks: the StoryGAN (attributes image_encoder, discriminator, visual_head, language_head,
    clustering: a ClusteringMemory or None). real_images, fake_images: [B, T, H, W, 3];
    text: `encode_stories` output of the batch's sentences; mismatched_text: that of other
    stories' sentences, required by losses.mismatched_pairs; labels: the frames' character
    labels [B, T, C], required by losses.character_classification and
    discriminator.label_projection; mismatched_labels: those of the mismatched sentences,
    required by the label projection with mismatched pairs.
    Returns (terms, real_clustering_features): the clustering features of the real pairs
    ([B*T, F] fusion or [2*B*T, F] individual; None when clustering is off) are what the
    train step writes into the clustering memory.
    """
    if config.model.family == "storygan":
        return storygan_objectives.discriminator_losses(networks, config, real_images, fake_images,
                                                    text, gather, mismatched_text)
    fake_images = ops.stop_gradient(fake_images)   # D's terms never reach the generator
    projected = projected_labels(config, labels)
    real_embedded = (embed_story(networks, real_images, text, config.losses.story_image)
                     if _embeds(config, CONTRASTIVE_SWITCHES) else None)
    real = frame_logits(networks, config, real_images, text, projected, real_embedded)
    fake = frame_logits(networks, config, fake_images, text, projected)
    mismatched = None
    if config.losses.mismatched_pairs:
        if mismatched_text is None:
            raise ValueError("losses.mismatched_pairs needs the mismatched_text of the batch")
        if projected is not None and mismatched_labels is None:
            raise ValueError("discriminator.label_projection with losses.mismatched_pairs needs "
                             "the mismatched_labels of the batch")
        mismatched = frame_logits(networks, config, real_images, mismatched_text,
                                  projected_labels(config, mismatched_labels),
                                  real_embedded)["conditional"]
    gan = discriminator_gan_loss(real["conditional"], fake["conditional"], mismatched)
    if "unconditional" in real:
        gan = gan + config.losses.unconditional_weight * discriminator_gan_loss(
            real["unconditional"], fake["unconditional"])
    terms = {"gan": gan, **_character_term(config, real, labels)}
    if config.losses.character_classification and config.losses.character_fake_frames:
        terms["character"] = terms["character"] + character_loss(fake["characters"], labels)
    alignment, real_features = alignment_terms(networks, config, real_images, text,
                                                CONTRASTIVE_SWITCHES, gather, real_embedded)
    terms.update(alignment)
    terms["total"] = _paper_objective(terms, config.losses)
    return terms, real_features


def generator_losses(networks, config, generated, text, gather: Callable = single_replica,
                     labels=None):
    """Eq. 9-10 (+ KL) on the generator's output for a batch of stories.

    generated: the StoryGenerator output ("images" [B, T, H, W, 3], and "mu", "logvar" with
    conditioning augmentation), computed under the generator's gradient tape. Other arguments as
    in `discriminator_losses` (labels: the characters each fake frame must show). Returns the
    dict of terms.
    """
    if config.model.family == "storygan":
        return storygan_objectives.generator_losses(networks, config, generated, text)
    images = generated["images"]
    levels = generator_alignment_levels(config)
    embedded = (embed_story(networks, images, text, config.losses.story_image)
                if _embeds(config, levels, cluster=bool(levels)) else None)
    logits = frame_logits(networks, config, images, text, projected_labels(config, labels),
                          embedded)
    gan = generator_gan_loss(logits["conditional"])
    if "unconditional" in logits:
        gan = gan + config.losses.unconditional_weight * generator_gan_loss(
            logits["unconditional"])
    terms = {"gan": gan, **_character_term(config, logits, labels)}
    if "interpolated" in generated:
        interpolated = generated["interpolated"]
        terms["interpolation"] = generator_gan_loss(frame_logits(
            networks, config, interpolated["images"], interpolated["text"])["conditional"])
    if levels:
        alignment, _ = alignment_terms(
            networks, config, images, text, levels, gather, embedded,
            stop_cluster_gradient=not config.losses.generator_cluster_gradient)
        terms.update(alignment)
    total = config.losses.generator_weight * _paper_objective(
        terms, config.losses, config.losses.generator_alignment_weight)
    if "mu" in generated:
        terms["kl"] = kl_loss(generated["mu"], generated["logvar"])
        total = total + config.losses.kl_weight * terms["kl"]
    terms["total"] = total
    return terms


def embed_story(networks, images, text, story_image: str) -> dict:
    """Visual features of `images` [B, T, H, W, 3] (frozen image encoder) projected by f, and
    the batch's text features projected by g, at every level the terms compare.

    Returns story_image, story_sentence [B, D]; image, sentence [B, T, D]; regions [B, T, R, D];
    words [B, T, L, D]; word_mask [B, T, L].
    """
    visual = encode_story_frames(networks.image_encoder, images, training=False)
    if story_image == "feature_mean":
        story = visual["story"]
    elif story_image == "pixel_mean":
        story = networks.image_encoder(ops.mean(images, axis=1), training=False)["global"]
    else:
        raise ValueError(f"unknown losses.story_image {story_image!r}: expected 'feature_mean' "
                         "(the paper) or 'pixel_mean' (the authors' code)")
    f, g = networks.visual_head, networks.language_head
    return {"story_image": f(story), "image": f(visual["global"]),
            "regions": f(visual["regions"]), "story_sentence": g(text["story"]),
            "sentence": g(text["sentence"]), "words": g(text["words"]),
            "word_mask": text["mask"]}


def _character_term(config, logits, labels) -> dict:
    """{"character": the multi-label loss of D's character logits [B, T, C] against `labels`}
    with losses.character_classification, else {}."""
    if not config.losses.character_classification:
        return {}
    if labels is None:
        raise ValueError("losses.character_classification needs the frames' character labels")
    if "characters" not in logits:
        raise ValueError("losses.character_classification needs a discriminator built with a "
                         "character head (num_labels > 0)")
    return {"character": character_loss(logits["characters"], labels)}


# Terms that come through the discriminator's logits; the rest are alignment terms.
_ADVERSARIAL = ("gan", "character", "interpolation")


def _paper_objective(terms, losses, alignment_weight=1.0):
    """gan_weight * GAN + character_weight * character + alignment_weight * every contrastive and
    clustering term: Eq. 7, and Eq. 9 unweighted when alignment_weight is 1 (the character term
    is ours, absent unless switched on)."""
    adversarial = losses.gan_weight * (terms["gan"] + terms.get("interpolation", 0.0))
    if "character" in terms:
        adversarial = adversarial + losses.character_weight * terms["character"]
    return adversarial + alignment_weight * sum(
        value for key, value in terms.items() if key not in _ADVERSARIAL)


def generator_alignment_levels(config) -> tuple[str, ...]:
    """The contrastive levels of G's objective (Eq. 9), or () when
    losses.generator_alignment_weight is 0: then G's contrastive and clustering terms would be
    multiplied by 0, and they are not computed at all (their image-encoder passes on the fakes
    cost as much as the rest of the step)."""
    return GENERATOR_CONTRASTIVE if config.losses.generator_alignment_weight else ()


def _embeds(config, levels, cluster=True) -> bool:
    """Whether the alignment terms among `levels` (and clustering, when `cluster`) or the
    coupled discriminator need the projected features of `embed_story`."""
    return ((cluster and config.losses.cluster)
            or config.discriminator.architecture == "coupled"
            or any(config.losses[CONTRASTIVE_SWITCHES[key]] for key in levels))


def alignment_terms(networks, config, images, text, levels, gather, embedded=None,
                    stop_cluster_gradient=False):
    """The contrastive terms among `levels` that config.losses switches on, and the clustering
    term, of `images` paired with the batch's text (`embedded`: their `embed_story` output,
    computed here when not given). Returns (terms, clustering features or None).

    stop_cluster_gradient: the clustering term is computed on gradient-stopped features (the
    generator's term with losses.generator_cluster_gradient off: the authors' code computes it
    on fakes made under no_grad, METHOD_NOTES)."""
    levels = [key for key in levels if config.losses[CONTRASTIVE_SWITCHES[key]]]
    if not levels and not config.losses.cluster:
        return {}, None
    if embedded is None:
        embedded = embed_story(networks, images, text, config.losses.story_image)
    terms = _contrastive_terms(embedded, config, levels, gather)
    features = None
    if config.losses.cluster:
        features = clustering_features(
            config.clustering.features, *(_frames(embedded[key]) for key in
                                          ("regions", "words", "word_mask", "image", "sentence")))
        clustered = ops.stop_gradient(features) if stop_cluster_gradient else features
        terms["cluster"] = networks.clustering.loss(clustered, config.losses.temperature)
    return terms, features


def _contrastive_terms(embedded, config, levels, gather) -> dict:
    losses, gammas = config.losses, (config.pretrain.gamma1, config.pretrain.gamma2,
                                     config.pretrain.gamma3)

    def pair_loss(visual, language):
        return contrastive_loss(gather(visual), gather(language), losses.contrastive,
                                losses.mms_margin, losses.temperature)

    terms = {}
    if "si_ss" in levels:
        terms["si_ss"] = pair_loss(embedded["story_image"], embedded["story_sentence"])
    if "i_s" in levels:
        terms["i_s"] = pair_loss(_frames(embedded["image"]), _frames(embedded["sentence"]))
    if "r_w" in levels or "sr_w" in levels:
        regions, words, mask = (gather(embedded[key]) for key in ("regions", "words", "word_mask"))

        def region_word_loss(*pairs):
            return word_region_contrastive_loss(*pairs, losses.contrastive, gammas,
                                                losses.mms_margin, losses.temperature)

        if "r_w" in levels:
            terms["r_w"] = region_word_loss(_frames(regions), _frames(words), _frames(mask))
        if "sr_w" in levels:
            terms["sr_w"] = region_word_loss(*story_words_and_regions(regions, words, mask))
    return terms


def discriminator_inputs(images, text, labels=None) -> dict:
    """The discriminator's per-frame inputs for stories `images` [B, T, H, W, 3] told by
    `text` (`encode_stories` output): each frame's words, sentence and story vector, and the
    frames' character labels [B, T, C] when given (the label projection's)."""
    frames = images.shape[1]
    inputs = {"images": _frames(images), "words": _frames(text["words"]),
              "word_mask": _frames(text["mask"]), "sentence": _frames(text["sentence"]),
              "story": _frames(ops.repeat(text["story"][:, None, :], frames, axis=1))}
    if labels is not None:
        inputs["labels"] = _frames(labels)
    return inputs


def projected_labels(config, labels):
    """`labels` when discriminator.label_projection needs them, else None: what
    `discriminator_inputs` takes as labels under `config`."""
    if not config.discriminator.label_projection:
        return None
    if labels is None:
        raise ValueError("discriminator.label_projection needs the frames' character labels")
    return labels


def frame_logits(networks, config, images, text, labels=None, embedded=None, training=True):
    """The discriminator's logits per (frame, sentence) pair, each [B, T] (character logits
    [B, T, C]); `labels` [B, T, C] go to the label projection. With the coupled
    discriminator (discriminator.architecture = "coupled") its input is the fusion map
    X = f(v_region) g(s_word)^T of the frames' regions (`embedded`, the `embed_story` output
    of `images`, or computed here) and the text's words, through the heads f, g."""
    if config.model.family == "storygan":
        return storygan_objectives.discriminator_logits(networks, images, text, training)
    frames = images.shape[1]
    inputs = discriminator_inputs(images, text, labels)
    if config.discriminator.architecture == "coupled":
        regions = (networks.visual_head(encode_story_frames(
            networks.image_encoder, images, training=False)["regions"])
            if embedded is None else embedded["regions"])
        inputs["fusion"] = fusion_features(_frames(regions),
                                           _frames(networks.language_head(text["words"])),
                                           _frames(text["mask"]))
    logits = networks.discriminator(inputs, training=training)
    return {name: ops.reshape(value, (-1, frames, *value.shape[1:]))
            for name, value in logits.items()}


def _frames(x):
    """[B, T, ...] -> [B*T, ...]: the frames of all stories as one batch."""
    return ops.reshape(x, (-1, *x.shape[2:]))


def r1_score(networks, config, real_images, text, labels=None):
    """The sum of D's real/fake logits (conditional, and unconditional with a joint D) over
    the real frames `real_images` [B, T, H, W, 3] told by `text`: the function whose gradient
    with respect to `real_images` R1 penalises. labels: as in `discriminator_losses`."""
    logits = frame_logits(networks, config, real_images, text, projected_labels(config, labels))
    return sum(ops.sum(ops.cast(logits[name], "float32"))
               for name in ("conditional", "unconditional") if name in logits)


def r1_penalty(gradient):
    """R1 (Mescheder et al. 2018): the squared norm of `gradient` [B, T, H, W, 3] (of
    `r1_score` with respect to the real frames) per frame, averaged over frames. It keeps D
    smooth around the data, so G's gradient through D carries no pixel-level noise."""
    return ops.mean(ops.sum(ops.square(ops.cast(gradient, "float32")), axis=(2, 3, 4)))


def add_r1(terms: dict, r1, gamma: float) -> dict:
    """D's `terms` with "r1" and r1_gamma / 2 * r1 added to its total (StyleGAN's form)."""
    return {**terms, "r1": r1, "total": terms["total"] + 0.5 * gamma * r1}
