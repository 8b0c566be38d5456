"""The switches that make configs/paper.py the paper as written: the coupled discriminator
(Sec. 3.4's text), which pairs the discriminator-side terms see, the authors' code's inert
variant, offline clustering's frozen heads, and label-free configs that ignore the labels."""
import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.label_use import ground_truth_label_uses
from storyvis_tf.models.text_encoder import encode_stories
from storyvis_tf.training import objectives
from storyvis_tf.training.story_gan import build_story_gan
from tests.tiny_gan import LENGTH, VOCAB, random_batch, tiny_config

LABEL_FREE_CONFIGS = ("configs.paper", "configs.paper_cpu", "configs.label_free_cpu", "configs.storygan",
                      "configs.dynamic_block", "configs.smoke")


def _gan(config, num_labels=0, seed=0):
    keras.utils.set_random_seed(seed)
    return build_story_gan(config, VOCAB, LENGTH, num_labels=num_labels)


def _text(gan, token_ids):
    return encode_stories(gan.text_encoder, token_ids)


def _coupled_config():
    config = tiny_config()
    config.discriminator.architecture = "coupled"
    config.losses.mismatched_pairs = False
    return config


def _gradient_norm(tape, loss, variables):
    return sum(float(tf.norm(g)) for g in tape.gradient(loss, variables) if g is not None)


def test_coupled_discriminator_judges_the_clustered_fusion_features():
    """D's GAN loss trains the heads f, g only when D reads X = f(v) g(s)^T (the coupled
    reading); with the authors' layout it does not reach them."""
    for architecture, reaches_heads in (("coupled", True), ("fusion", False)):
        config = _coupled_config()
        config.discriminator.architecture = architecture
        gan = _gan(config)
        batch = random_batch(config, 2)
        text = _text(gan, batch["token_ids"])
        heads = gan.visual_head.trainable_variables + gan.language_head.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            d, _ = objectives.discriminator_losses(gan, config, batch["images"],
                                                   batch["images"][::-1], text)
        assert (_gradient_norm(tape, d["gan"], heads) > 0) == reaches_heads, architecture


def test_sr_w_alone_changes_the_coupled_discriminator_but_not_the_authors_layout():
    """The SR-W-only row trains only the heads f, g: inert with the authors' layout (nothing
    reads them), effective when D judges the fusion features the heads make."""
    def discriminator_after_steps(architecture, sr_w):
        config = _coupled_config()
        config.discriminator.architecture = architecture
        for term in ("story_image_story_sentence", "image_sentence", "region_word", "cluster"):
            config.losses[term] = False
        config.losses.story_region_word = sr_w
        config.train.generator_average_decay = 0.0
        gan = _gan(config)
        for step in range(2):
            gan.train_step(random_batch(config, 2, seed=step))
        return [np.asarray(w) for w in gan.discriminator.weights + gan.generator.weights]

    def identical(a, b):
        return all(np.array_equal(x, y) for x, y in zip(a, b))

    assert identical(discriminator_after_steps("fusion", True),
                     discriminator_after_steps("fusion", False))
    assert not identical(discriminator_after_steps("coupled", True),
                         discriminator_after_steps("coupled", False))


def test_discriminator_alignment_terms_see_real_pairs_only():
    config = tiny_config()
    gan = _gan(config)
    batch = random_batch(config, 2)
    text = _text(gan, batch["token_ids"])
    mismatched = _text(gan, batch["mismatched_token_ids"])
    alignment = ("si_ss", "i_s", "r_w", "sr_w")
    gan.clustering.assign_centroids(
        np.random.default_rng(1).normal(size=gan.clustering.centroids.shape))

    def terms(real, fake):
        d, features = objectives.discriminator_losses(gan, config, real, fake, text,
                                                      mismatched_text=mismatched)
        return {key: float(d[key]) for key in (*alignment, "cluster", "gan")}, features

    fakes = random_batch(config, 2, seed=1)["images"]
    first, first_features = terms(batch["images"], fakes)
    other_fakes, other_features = terms(batch["images"], -fakes)
    other_reals, _ = terms(fakes, fakes)
    for key in (*alignment, "cluster"):
        assert first[key] == other_fakes[key], key
        assert first[key] != other_reals[key], key
    np.testing.assert_array_equal(np.asarray(first_features), np.asarray(other_features))
    assert first["gan"] != other_fakes["gan"]


def test_authors_code_variant_leaves_heads_untrained_and_g_cluster_without_gradient():
    config = tiny_config()
    config.discriminator.train_heads = False
    config.losses.generator_cluster_gradient = False
    gan = _gan(config)
    head_ids = {id(v) for v in gan.visual_head.weights + gan.language_head.weights}
    assert not head_ids & {id(v) for v in gan.discriminator_variables}
    before = [np.asarray(w) for w in gan.visual_head.weights + gan.language_head.weights]
    gan.train_step(random_batch(config, 2))
    after = [np.asarray(w) for w in gan.visual_head.weights + gan.language_head.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))

    batch = random_batch(config, 2)
    text = _text(gan, batch["token_ids"])
    gan.clustering.assign_centroids(
        np.random.default_rng(3).normal(size=gan.clustering.centroids.shape))
    with tf.GradientTape() as tape:
        generated = gan.generator(gan.generator_inputs(batch, text, np.ones((2, 8), "float32")),
                                  training=True)
        cluster = objectives.generator_losses(gan, config, generated, text)["cluster"]
    assert float(cluster) > 0
    assert _gradient_norm(tape, cluster, gan.generator.trainable_variables) == 0


def test_offline_clustering_freezes_the_heads_with_the_encoders():
    config = tiny_config()
    config.clustering.mode = "offline"
    keras.utils.set_random_seed(0)
    online = build_story_gan(tiny_config(), VOCAB, LENGTH)
    centroids = np.zeros(online.clustering.centroids.shape, "float32")
    encoders = {key: getattr(online, key) for key in
                ("text_encoder", "image_encoder", "visual_head", "language_head")}
    gan = build_story_gan(config, VOCAB, LENGTH, {**encoders, "centroids": centroids})
    assert gan.visual_head.trainable_variables == gan.language_head.trainable_variables == []
    discriminator = {id(v) for v in gan.discriminator_variables}
    assert not {id(v) for v in gan.visual_head.weights} & discriminator


def test_hierarchical_clustering_reclusters_under_a_plain_fit():
    """Outside the trainer (no run callbacks), fit itself adds the host-side re-clustering."""
    config = tiny_config()
    config.clustering.algorithm = "hierarchical"
    gan = _gan(config)
    batches = tf.data.Dataset.from_tensors(
        {key: value for key, value in random_batch(config, 2).items()}).repeat(2)
    gan.fit(batches, epochs=1, verbose=0)
    assert float(gan.clustering.ready.numpy()) == 1.0


@pytest.mark.parametrize("module", LABEL_FREE_CONFIGS)
def test_label_free_configs_train_the_same_bits_with_permuted_labels(module):
    config = importlib.import_module(module).get_config()
    assert ground_truth_label_uses(config) == []
    tiny = tiny_config()
    for section in ("data", "text_encoder", "image_encoder", "clustering", "train"):
        config[section] = tiny[section]
    for key in ("noise_dim", "condition_dim", "base_channels", "attention_resolutions",
                "residual_blocks"):
        config.generator[key] = tiny.generator[key]
    config.discriminator.base_channels = tiny.discriminator.base_channels
    config.discriminator.batch_norm = False
    config.model.dynamic_block.generator_resolutions = (8, 16)   # feature maps of 16x16 frames
    config.model.dynamic_block.discriminator_resolutions = (8,)

    def weights_after_a_step(labels):
        gan = _gan(config, num_labels=3)
        batch = random_batch(config, 2)
        batch["labels"] = labels
        gan.train_step(batch)
        return [np.asarray(w) for w in gan.generator.weights + gan.discriminator_variables]

    labels = np.random.default_rng(0).integers(0, 2, (2, 2, 3)).astype("float32")
    first = weights_after_a_step(labels)
    permuted = weights_after_a_step(labels[:, :, ::-1][::-1])
    assert all(np.array_equal(a, b) for a, b in zip(first, permuted))


def test_label_uses_are_named():
    from configs import synthetic_cpu

    assert ground_truth_label_uses(synthetic_cpu.get_config()) == [
        "pretrain.character_weight", "losses.character_classification",
        "discriminator.label_projection"]


def test_zero_generator_alignment_weight_leaves_the_terms_out_of_g():
    """At weight 0 G's contrastive and clustering terms are not computed (their encoder passes
    on the fakes cost as much as the rest of the step); D's stay."""
    from storyvis_tf.training.story_gan import loss_term_names

    config = tiny_config()
    config.losses.generator_alignment_weight = 0.0
    gan = _gan(config)
    names = loss_term_names(config)
    assert names["g"] == ("gan", "kl", "total")
    assert {"si_ss", "i_s", "r_w", "sr_w", "cluster"} <= set(names["d"])
    logs = gan.train_step(random_batch(config, 2))
    assert set(logs) == {f"{side}_{term}" for side in names for term in names[side]}
    batch = random_batch(config, 2)
    text = _text(gan, batch["token_ids"])
    generated = gan.generator(gan.generator_inputs(batch, text, np.ones((2, 8), "float32")))
    terms = objectives.generator_losses(gan, config, generated, text)
    np.testing.assert_allclose(float(terms["total"]),
                               5.0 * float(terms["gan"]) + float(terms["kl"]), rtol=1e-5)
