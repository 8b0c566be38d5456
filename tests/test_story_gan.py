"""StoryGAN: the train step, the loss dicts under every ablation switch, who each term trains,
and the clustering memory's schedule."""
import importlib
import importlib.resources

import keras
import numpy as np
import pytest
import tensorflow as tf

from configs import smoke
from storyvis_tf.losses.clustering import kmeans
from storyvis_tf.losses.gan import character_loss, discriminator_gan_loss
from storyvis_tf.models.discriminator import FusionDiscriminator
from storyvis_tf.models.text_encoder import encode_stories
from storyvis_tf.training import objectives
from storyvis_tf.training.callbacks import HierarchicalReclustering
from storyvis_tf.training.clustering_memory import (ClusteringMemory, clustering_feature_dim,
                                                     clustering_features, rows_per_frame)
from storyvis_tf.training.story_gan import build_story_gan, loss_term_names
from tests.tiny_gan import LENGTH, VOCAB, random_batch, tiny_config


@pytest.fixture(scope="module")
def built():
    keras.utils.set_random_seed(0)
    config = tiny_config()
    return config, build_story_gan(config, VOCAB, LENGTH)


def _values(variables):
    return [np.array(v.numpy()) for v in variables]


def _changed(before, variables):
    return any(not np.array_equal(b, v.numpy()) for b, v in zip(before, variables))


def test_train_step_updates_both_networks_and_returns_finite_losses(built):
    config, gan = built
    before = {name: _values(getattr(gan, name).weights) for name in
              ("generator", "discriminator", "visual_head", "language_head", "text_encoder",
               "image_encoder")}
    logs = gan.train_step(random_batch(config, 2))

    names = loss_term_names(config)
    assert set(logs) == {f"{side}_{term}" for side in names for term in names[side]}
    assert all(np.isfinite(float(value)) for value in logs.values())
    for trained in ("generator", "discriminator", "visual_head", "language_head"):
        assert _changed(before[trained], getattr(gan, trained).weights), trained
    for frozen in ("text_encoder", "image_encoder"):
        assert not _changed(before[frozen], getattr(gan, frozen).weights), frozen
    assert int(gan.d_optimizer.iterations.numpy()) == int(gan.g_optimizer.iterations.numpy()) == 1


# Table 3 rows: (config file, discriminator terms, generator terms besides gan, kl, total).
TABLE_3 = [
    ("baseline", (), ()),
    ("si_ss_only", ("si_ss",), ("si_ss",)),
    ("i_s_only", ("i_s",), ("i_s",)),
    ("r_w_only", ("r_w",), ("r_w",)),
    ("sr_w_only", ("sr_w",), ()),          # Eq. 9 has no SR-W term
    ("cluster_only", ("cluster",), ("cluster",)),
    ("all_contrastive", ("si_ss", "i_s", "r_w", "sr_w"), ("si_ss", "i_s", "r_w")),
]


@pytest.mark.parametrize("row, d_terms, g_terms", TABLE_3)
def test_each_ablation_switch_leaves_exactly_its_terms(built, row, d_terms, g_terms):
    base, gan = built
    ablation = importlib.import_module(f"configs.ablations.{row}").get_config()
    config = tiny_config()
    config.losses.update(ablation.losses)
    config.losses.gan_weight = 2.0
    config.losses.generator_alignment_weight = 0.5
    batch = random_batch(config, 2)
    text = encode_stories(gan.text_encoder, batch["token_ids"])
    generated = gan.generator(gan.generator_inputs(batch, text, np.zeros((2, 8), "float32")))

    mismatched = encode_stories(gan.text_encoder, batch["mismatched_token_ids"])
    d, _ = objectives.discriminator_losses(gan, config, batch["images"], generated["images"], text,
                                           mismatched_text=mismatched)
    g = objectives.generator_losses(gan, config, generated, text)

    assert set(d) == {"gan", *d_terms, "total"}
    assert set(g) == {"gan", *g_terms, "kl", "total"}
    assert loss_term_names(config) == {"d": tuple(d), "g": tuple(g)}
    np.testing.assert_allclose(float(d["total"]), 2.0 * float(d["gan"])
                               + sum(float(d[t]) for t in d_terms), rtol=1e-6)
    np.testing.assert_allclose(
        float(g["total"]), 5.0 * (2.0 * float(g["gan"]) + 0.5 * sum(float(g[t]) for t in g_terms))
        + float(g["kl"]), rtol=1e-6)


def test_discriminator_gan_term_is_matching_aware_plus_unconditional(built):
    _, gan = built
    config = tiny_config()
    config.losses.unconditional_weight = 0.5
    batch = random_batch(config, 2)
    text = encode_stories(gan.text_encoder, batch["token_ids"])
    mismatched = encode_stories(gan.text_encoder, batch["mismatched_token_ids"])
    fakes = gan.generator(gan.generator_inputs(batch, text, np.zeros((2, 8), "float32")))["images"]

    def logits(images, sentences):
        return gan.discriminator(objectives.discriminator_inputs(images, sentences),
                                 training=True)

    real, fake = logits(batch["images"], text), logits(fakes, text)
    wrong = logits(batch["images"], mismatched)["conditional"]
    expected = (discriminator_gan_loss(real["conditional"], fake["conditional"], wrong)
                + 0.5 * discriminator_gan_loss(real["unconditional"], fake["unconditional"]))
    d, _ = objectives.discriminator_losses(gan, config, batch["images"], fakes, text,
                                           mismatched_text=mismatched)
    np.testing.assert_allclose(float(d["gan"]), float(expected), rtol=1e-5)
    assert abs(float(wrong[0]) - float(real["conditional"][0])) > 0   # the sentences matter
    with pytest.raises(ValueError, match="mismatched_pairs needs the mismatched_text"):
        objectives.discriminator_losses(gan, config, batch["images"], fakes, text)


def test_the_papers_fusion_discriminator_trains_without_mismatched_pairs():
    config = tiny_config()
    config.discriminator.update(architecture="fusion", batch_norm=True)
    config.losses.mismatched_pairs = False
    gan = build_story_gan(config, VOCAB, LENGTH)
    assert isinstance(gan.discriminator, FusionDiscriminator)
    batch = random_batch(config, 2)
    del batch["mismatched_token_ids"]
    before = _values(gan.discriminator.weights)
    logs = gan.train_step(batch)
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert _changed(before, gan.discriminator.weights)


def test_without_conditioning_augmentation_there_is_no_kl_term(built):
    base, gan = built
    config = tiny_config()
    config.generator.conditioning_augmentation = False
    batch = random_batch(config, 2)
    text = encode_stories(gan.text_encoder, batch["token_ids"])
    images = gan.generator(gan.generator_inputs(batch, text, np.zeros((2, 8), "float32")))["images"]
    assert "kl" not in objectives.generator_losses(gan, config, {"images": images}, text)
    assert "kl" not in loss_term_names(config)["g"]


def test_discriminator_contrastive_terms_train_the_heads_and_not_the_generator(built):
    config, gan = built
    batch = random_batch(config, 2)
    text = encode_stories(gan.text_encoder, batch["token_ids"])
    heads = gan.visual_head.trainable_variables + gan.language_head.trainable_variables
    generator = gan.generator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        fakes = gan.generator(gan.generator_inputs(batch, text, np.ones((2, 8), "float32")),
                              training=True)["images"]
        # The fakes come with their gradient: discriminator_losses itself must stop it.
        d, _ = objectives.discriminator_losses(
            gan, config, batch["images"], fakes, text,
            mismatched_text=encode_stories(gan.text_encoder, batch["mismatched_token_ids"]))
        contrastive = d["si_ss"] + d["i_s"] + d["r_w"] + d["sr_w"]
    head_gradients = tape.gradient(contrastive, heads)
    assert all(g is not None for g in head_gradients)
    assert sum(float(tf.norm(g)) for g in head_gradients) > 0
    assert all(g is None for g in tape.gradient(d["total"], generator))
    assert not {id(v) for v in generator} & {id(v) for v in gan.discriminator_variables}


def test_generator_clustering_term_reaches_the_generator(built):
    config, gan = built
    batch = random_batch(config, 2)
    text = encode_stories(gan.text_encoder, batch["token_ids"])
    centroids = np.random.default_rng(3).normal(size=gan.clustering.centroids.shape)
    gan.clustering.assign_centroids(centroids)
    with tf.GradientTape() as tape:
        generated = gan.generator(gan.generator_inputs(batch, text, np.ones((2, 8), "float32")),
                                  training=True)
        cluster = objectives.generator_losses(gan, config, generated, text)["cluster"]
    gradients = tape.gradient(cluster, gan.generator.trainable_variables)
    assert float(cluster) > 0
    assert sum(float(tf.norm(g)) for g in gradients if g is not None) > 0


def _character_setup(config, present):
    """A seeded GAN over 3 characters, a 2-story batch in which character `present` is in every
    frame, and the encoded text of its stories and of their mismatched pairs."""
    keras.utils.set_random_seed(0)
    gan = build_story_gan(config, VOCAB, LENGTH, num_labels=3)
    batch = random_batch(config, 2)
    batch["labels"][:, :, present] = 1.0
    return (gan, batch, encode_stories(gan.text_encoder, batch["token_ids"]),
            encode_stories(gan.text_encoder, batch["mismatched_token_ids"]))


@pytest.mark.parametrize("trunk", ["shared", "separate"])
def test_character_classification_adds_its_term_to_both_objectives(trunk):
    config = tiny_config()
    config.discriminator.character_trunk = trunk
    config.losses.update(character_classification=True, character_weight=3.0, gan_weight=2.0,
                         generator_alignment_weight=0.5)
    gan, batch, text, mismatched = _character_setup(config, present=1)
    with tf.GradientTape() as tape:
        generated = gan.generator(gan.generator_inputs(batch, text, np.ones((2, 8), "float32")),
                                  training=True)
        g = objectives.generator_losses(gan, config, generated, text, labels=batch["labels"])
    d, _ = objectives.discriminator_losses(gan, config, batch["images"], generated["images"],
                                           text, mismatched_text=mismatched,
                                           labels=batch["labels"])

    assert loss_term_names(config) == {"d": tuple(d), "g": tuple(g)}
    assert "character" in d and "character" in g
    alignment = [t for t in d if t not in ("gan", "character", "total")]
    np.testing.assert_allclose(float(d["total"]), 2.0 * float(d["gan"])
                               + 3.0 * float(d["character"])
                               + sum(float(d[t]) for t in alignment), rtol=1e-6)
    alignment = [t for t in g if t not in ("gan", "character", "kl", "total")]
    np.testing.assert_allclose(
        float(g["total"]), 5.0 * (2.0 * float(g["gan"]) + 3.0 * float(g["character"])
                                  + 0.5 * sum(float(g[t]) for t in alignment))
        + float(g["kl"]), rtol=1e-6)
    # G's term reaches the generator; the train step logs both sides.
    gradients = tape.gradient(g["character"], gan.generator.trainable_variables)
    assert sum(float(tf.norm(x)) for x in gradients if x is not None) > 0
    logs = gan.train_step(batch)
    assert np.isfinite(float(logs["d_character"])) and np.isfinite(float(logs["g_character"]))

    with pytest.raises(ValueError, match="needs the frames' character labels"):
        objectives.generator_losses(gan, config, generated, text)
    with pytest.raises(ValueError, match="needs a dataset with character labels"):
        build_story_gan(config, VOCAB, LENGTH)


def test_character_fake_frames_adds_the_fakes_to_the_discriminators_character_term():
    config = tiny_config()
    config.losses.character_classification = True
    config.discriminator.spectral_norm = False   # its power iteration moves D at every call
    gan, batch, text, mismatched = _character_setup(config, present=2)
    fakes = np.random.default_rng(5).uniform(-1, 1, batch["images"].shape).astype("float32")

    def d_terms():
        return objectives.discriminator_losses(gan, config, batch["images"], fakes, text,
                                               mismatched_text=mismatched,
                                               labels=batch["labels"])[0]

    real_only = d_terms()
    config.losses.character_fake_frames = True
    both = d_terms()
    fake_logits = gan.discriminator(objectives.discriminator_inputs(fakes, text),
                                    training=True)["characters"]
    fake_term = float(character_loss(fake_logits, np.reshape(batch["labels"], (-1, 3))))
    np.testing.assert_allclose(float(both["character"]),
                               float(real_only["character"]) + fake_term, rtol=1e-5)
    np.testing.assert_allclose(float(both["gan"]), float(real_only["gan"]), rtol=1e-6)

    config.losses.character_classification = False
    with pytest.raises(ValueError, match="character_fake_frames trains the character classifier"):
        build_story_gan(config, VOCAB, LENGTH, num_labels=3)


def test_r1_gamma_adds_the_real_frames_gradient_penalty_to_the_discriminator():
    config = tiny_config()
    config.discriminator.spectral_norm = False
    config.losses.r1_gamma = 4.0
    keras.utils.set_random_seed(0)
    gan = build_story_gan(config, VOCAB, LENGTH)
    batch = random_batch(config, 2)
    text = encode_stories(gan.text_encoder, batch["token_ids"])
    inputs = objectives.discriminator_inputs(batch["images"], text)
    frames = tf.constant(inputs["images"])
    with tf.GradientTape() as tape:
        tape.watch(frames)
        logits = gan.discriminator({**inputs, "images": frames}, training=True)
        score = tf.reduce_sum(logits["conditional"]) + tf.reduce_sum(logits["unconditional"])
    expected = float(tf.reduce_mean(tf.reduce_sum(tape.gradient(score, frames) ** 2, [1, 2, 3])))
    assert expected > 0
    np.testing.assert_allclose(float(gan._r1_penalty(batch["images"], text, batch["labels"])),
                               expected, rtol=1e-5)
    assert "r1" in loss_term_names(config)["d"] and "r1" not in loss_term_names(config)["g"]
    before = _values(gan.discriminator.weights)
    logs = gan.train_step(batch)
    assert np.isfinite(float(logs["d_r1"])) and float(logs["d_r1"]) > 0
    assert _changed(before, gan.discriminator.weights)
    config.losses.r1_gamma = 0.0
    assert "r1" not in loss_term_names(config)["d"]


def test_label_projection_conditions_the_discriminators_gan_term_on_the_characters():
    config = tiny_config()
    config.discriminator.update(label_projection=True, spectral_norm=False)  # calls repeatable
    gan, batch, text, mismatched = _character_setup(config, present=0)
    batch["labels"][1, :, 2] = 1.0                         # story 1 shows characters 0 and 2
    batch["mismatched_labels"] = np.roll(batch["labels"], 1, axis=0)
    fakes = np.random.default_rng(5).uniform(-1, 1, batch["images"].shape).astype("float32")

    def logits(images, sentences, labels):
        return gan.discriminator(objectives.discriminator_inputs(images, sentences, labels),
                                 training=True)

    real = logits(batch["images"], text, batch["labels"])
    fake = logits(fakes, text, batch["labels"])
    wrong = logits(batch["images"], mismatched, batch["mismatched_labels"])["conditional"]
    expected = (discriminator_gan_loss(real["conditional"], fake["conditional"], wrong)
                + config.losses.unconditional_weight
                * discriminator_gan_loss(real["unconditional"], fake["unconditional"]))
    d, _ = objectives.discriminator_losses(gan, config, batch["images"], fakes, text,
                                           mismatched_text=mismatched, labels=batch["labels"],
                                           mismatched_labels=batch["mismatched_labels"])
    np.testing.assert_allclose(float(d["gan"]), float(expected), rtol=1e-5)
    # Other labels, same frames and sentences: only the conditional logit moves.
    relabelled = logits(batch["images"], text, np.roll(batch["labels"], 1, axis=0))
    assert np.abs(np.asarray(relabelled["conditional"] - real["conditional"])).max() > 1e-6
    np.testing.assert_array_equal(relabelled["unconditional"], real["unconditional"])

    before = _values(gan.discriminator.label_projection.weights)
    logs = gan.train_step(batch)
    assert np.isfinite(float(logs["d_gan"])) and np.isfinite(float(logs["g_gan"]))
    assert _changed(before, gan.discriminator.label_projection.weights)
    with pytest.raises(ValueError, match="needs the mismatched_labels"):
        objectives.discriminator_losses(gan, config, batch["images"], fakes, text,
                                        mismatched_text=mismatched, labels=batch["labels"])
    with pytest.raises(ValueError, match="needs the frames' character labels"):
        objectives.generator_losses(gan, config, {"images": fakes}, text)
    with pytest.raises(ValueError, match="label_projection needs a dataset with character"):
        build_story_gan(config, VOCAB, LENGTH)


@pytest.mark.parametrize("story_condition", [False, True])
def test_story_condition_judges_each_frame_against_its_whole_story(story_condition):
    config = tiny_config()
    config.discriminator.update(story_condition=story_condition, spectral_norm=False)
    keras.utils.set_random_seed(0)
    gan = build_story_gan(config, VOCAB, LENGTH)
    batch = random_batch(config, 2)

    def frame_0_logits(token_ids):
        text = encode_stories(gan.text_encoder, token_ids)
        logits = gan.discriminator(objectives.discriminator_inputs(batch["images"], text))
        return np.asarray(logits["conditional"])[0], np.asarray(logits["unconditional"])[0]

    other = batch["token_ids"].copy()
    other[0, 1] = np.roll(other[0, 1], 1)                 # story 0's second sentence only
    (conditional, unconditional), (moved, same) = frame_0_logits(batch["token_ids"]), \
        frame_0_logits(other)
    assert (abs(moved - conditional) > 1e-6) == story_condition
    assert same == unconditional
    assert np.isfinite(float(gan.train_step(batch)["d_gan"]))


def test_minibatch_stddev_groups_must_divide_each_replicas_frames():
    # Groups of 2 over 3-frame stories: one story's frames do not split into them, a 2-story
    # batch's 6 frames do, so building (its dummy pass) and a train step must work.
    config = tiny_config()
    config.data.frames_per_story = 3
    config.discriminator.minibatch_stddev_group = 2
    keras.utils.set_random_seed(0)
    gan = build_story_gan(config, VOCAB, LENGTH)
    logs = gan.train_step(random_batch(config, 2))
    assert np.isfinite(float(logs["d_gan"]))
    config.discriminator.minibatch_stddev_group = 4
    with pytest.raises(ValueError, match="minibatch_stddev_group = 4 does not divide the 6 "
                                         "frames"):
        build_story_gan(config, VOCAB, LENGTH)


def _memory_config(**overrides):
    config = smoke.get_config().clustering
    config.update(dict(k=2, memory_batches=2, every_n_batches=3, lloyd_iterations=5))
    config.update(overrides)
    return config


def _blobs(centre, rows=4):
    """Two tight blobs at +-centre: [rows, 3]."""
    offsets = np.linspace(-0.01, 0.01, rows // 2)[:, None]
    return np.concatenate([centre + offsets, -centre + offsets]).astype("float32")


def test_kmeans_memory_reclusters_when_full_then_every_period():
    memory = ClusteringMemory(_memory_config(), rows_per_batch=4, feature_dim=3, seed=0)
    update = tf.function(memory.update)
    centres = [np.array(c, "float32") for c in
               ([10, 0, 0], [10, 0, 0], [0, 10, 0], [0, 10, 0], [0, 0, 10], [0, 0, 10])]
    ready, centroids = [], []
    for centre in centres:
        update(tf.constant(_blobs(centre)))
        ready.append(float(memory.ready.numpy()))
        centroids.append(np.sort(memory.centroids.numpy(), axis=0))

    # FIFO of 2 batches, full after batch 2; clustering after batches 2 and 5 (= 2 + 3) only.
    assert ready == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(memory.memory.numpy(),
                                  np.concatenate([_blobs(centres[4]), _blobs(centres[5])]))
    np.testing.assert_allclose(centroids[1], np.sort([[-10, 0, 0], [10, 0, 0]], axis=0), atol=1e-5)
    for unchanged in (2, 3):
        np.testing.assert_array_equal(centroids[unchanged], centroids[1])
    expected, _ = kmeans(tf.constant(np.concatenate([_blobs(centres[4]), _blobs(centres[3])])),
                         2, 5, 0)
    np.testing.assert_allclose(centroids[4], np.sort(expected.numpy(), axis=0), atol=1e-5)
    np.testing.assert_array_equal(centroids[5], centroids[4])
    assert int(memory.batches_seen.numpy()) == 6


def test_clustering_loss_is_zero_until_the_memory_is_clustered():
    memory = ClusteringMemory(_memory_config(), rows_per_batch=4, feature_dim=3, seed=0)
    features = tf.constant(_blobs(np.array([1.0, 2.0, 3.0])))
    queries = tf.constant(np.eye(3, dtype="float32"))
    assert float(memory.loss(queries, 0.1)) == 0.0
    memory.update(features)
    memory.update(features)
    assert float(memory.loss(queries, 0.1)) > 1e-3


def test_hierarchical_memory_is_clustered_on_the_host_at_the_period():
    memory = ClusteringMemory(_memory_config(algorithm="hierarchical", every_n_batches=1),
                              rows_per_batch=4, feature_dim=3, seed=0)
    callback = HierarchicalReclustering()
    callback.set_model(type("Model", (), {"clustering": memory})())
    memory.update(tf.constant(_blobs(np.array([5.0, 0, 0]))))
    callback.on_train_batch_end(0)
    assert float(memory.ready.numpy()) == 0.0 and not memory.centroids.numpy().any()
    memory.update(tf.constant(_blobs(np.array([5.0, 0, 0]))))
    callback.on_train_batch_end(1)
    assert float(memory.ready.numpy()) == 1.0
    np.testing.assert_allclose(np.sort(memory.centroids.numpy(), axis=0),
                               np.sort([[-5, 0, 0], [5, 0, 0]], axis=0), atol=1e-5)


def test_offline_centroids_are_fixed_and_checked():
    centroids = np.arange(6, dtype="float32").reshape(2, 3)
    memory = ClusteringMemory(_memory_config(mode="offline"), rows_per_batch=4, feature_dim=3,
                              offline_centroids=centroids)
    memory.update(tf.constant(_blobs(np.array([5.0, 0, 0]))))
    np.testing.assert_array_equal(memory.centroids.numpy(), centroids)
    assert float(memory.ready.numpy()) == 1.0
    with pytest.raises(ValueError, match=r"offline centroids have shape \(2, 3\), expected"):
        ClusteringMemory(_memory_config(mode="offline"), rows_per_batch=4, feature_dim=5,
                         offline_centroids=centroids)
    with pytest.raises(ValueError, match="needs the centroids of a pretraining run"):
        ClusteringMemory(_memory_config(mode="offline"), rows_per_batch=4, feature_dim=3)


def test_individual_features_are_frame_images_and_sentences_as_separate_instances():
    rng = np.random.default_rng(0)
    regions, words = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 6, 5))
    image, sentence = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    mask = np.ones((3, 6), bool)
    individual = clustering_features("individual", regions, words, mask, image, sentence)
    np.testing.assert_allclose(individual, np.concatenate([image, sentence]))
    assert clustering_feature_dim("individual", 4, 6, 5) == 5 and rows_per_frame("individual") == 2
    fusion = clustering_features("fusion", regions, words, mask, image, sentence)
    assert fusion.shape == (3, clustering_feature_dim("fusion", 4, 6, 5)) == (3, 24)
    assert rows_per_frame("fusion") == 1


def test_mixed_float16_wraps_each_optimizer_in_loss_scaling_and_restores_the_policy():
    config = tiny_config()
    config.train.mixed_precision = "mixed_float16"
    gan = build_story_gan(config, VOCAB, LENGTH)
    assert keras.config.dtype_policy().name == "float32"
    assert gan.generator.dtype_policy.name == "mixed_float16"
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    logs = gan.train_step(random_batch(config, 2))
    assert all(np.isfinite(float(value)) for value in logs.values())


def test_build_refuses_xla_with_several_replicas_and_uneven_batches():
    config = tiny_config(batch_size=3)
    two_cpus = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with pytest.raises(ValueError, match="must divide evenly over the 2 replicas"):
        build_story_gan(config, VOCAB, LENGTH, strategy=two_cpus)
    config.train.jit_compile = True
    with pytest.raises(ValueError, match="jit_compile=True does not work with MirroredStrategy"):
        build_story_gan(config, VOCAB, LENGTH, strategy=two_cpus)


# Every ablation config: the default config with exactly these keys changed.
ABLATIONS = {
    "baseline": {"losses.story_image_story_sentence": False, "losses.image_sentence": False,
                 "losses.region_word": False, "losses.story_region_word": False,
                 "losses.cluster": False},
    "si_ss_only": {"losses.image_sentence": False, "losses.region_word": False,
                   "losses.story_region_word": False, "losses.cluster": False},
    "i_s_only": {"losses.story_image_story_sentence": False, "losses.region_word": False,
                 "losses.story_region_word": False, "losses.cluster": False},
    "r_w_only": {"losses.story_image_story_sentence": False, "losses.image_sentence": False,
                 "losses.story_region_word": False, "losses.cluster": False},
    "sr_w_only": {"losses.story_image_story_sentence": False, "losses.image_sentence": False,
                  "losses.region_word": False, "losses.cluster": False},
    "cluster_only": {"losses.story_image_story_sentence": False, "losses.image_sentence": False,
                     "losses.region_word": False, "losses.story_region_word": False},
    "all_contrastive": {"losses.cluster": False},
    "nt_xent": {"losses.contrastive": "nt_xent"},
    "hierarchical": {"clustering.algorithm": "hierarchical"},
    "individual_features": {"clustering.features": "individual"},
    "offline": {"clustering.mode": "offline", "pretrain.objective": "eq6"},
    "no_attention": {"generator.attention": "none"},
    "wsa": {"generator.attention": "wsa"},
    "k4": {"clustering.k": 4}, "k16": {"clustering.k": 16}, "k32": {"clustering.k": 32},
    "k64": {"clustering.k": 64},
}


def _flat(config):
    return {f"{section}.{key}": value for section, values in config.items()
            if isinstance(values, dict) for key, value in values.items()}


def test_every_ablation_config_changes_exactly_its_switches():
    from configs import ablations, default

    files = {path.stem for path in importlib.resources.files(ablations).iterdir()
             if path.suffix == ".py" and path.stem != "__init__"}
    assert files == set(ABLATIONS)
    base = _flat(default.get_config().to_dict())
    for name, changes in ABLATIONS.items():
        config = _flat(importlib.import_module(f"configs.ablations.{name}").get_config().to_dict())
        assert {key: value for key, value in config.items() if base[key] != value} == changes, name
