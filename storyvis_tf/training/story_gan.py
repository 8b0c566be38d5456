"""The contrastive + clustering story GAN as a Keras model trained by `fit`: `StoryGAN` (its
networks and state, built by `build_story_gan` under either Keras backend) and its TensorFlow
train step; under KERAS_BACKEND=jax, `build_story_gan` returns `jax_step.JaxStoryGAN`, whose
train step is the same update in JAX.

`StoryGAN.train_step` is the whole GAN update, top to bottom, in the manner of the keras-io
DCGAN: encode the sentences, generate the stories once, a discriminator step (Eq. 7-8), the
clustering memory update, a generator step on the same fakes against the updated discriminator
(Eq. 9-10, as the authors' loop does), and the metric trackers. The losses themselves are the
backend-agnostic `objectives.discriminator_losses` / `generator_losses`; this module only does
the TensorFlow plumbing: gradient tapes, tf.distribute, loss scaling.

Distribution (tf.distribute.MirroredStrategy): one device and N replicas give the same update
for the same global batch, because
- every loss is divided by the number of replicas and the optimisers sum the replicas'
  gradients; the per-example terms are replica means, the batch-coupled contrastive terms are
  computed on the all-gathered global batch (see objectives);
- the noise z of a story and the reparameterisation noise of its conditioning augmentation are
  drawn for the whole global batch from (seed, step) and each replica takes its slice, so they
  depend neither on the replica count nor on whether the run was resumed;
- batch normalisation uses the global batch's statistics (`synchronized=True` on every
  BatchNormalization layer when there is more than one replica);
- the clustering memory stores the global batch (see clustering_memory).

TensorFlow is imported by the TensorFlow-only code (the train step and its replica helpers, the
default strategy, `mismatched_stories` of tensors), not with this module, so that the JAX
backend builds and trains the model where TensorFlow is not installed (docs/JAX.md).
"""
import contextlib

import keras
import ml_collections
import numpy as np
from keras import ops

from storyvis_tf.models.discriminator import build_discriminator
from storyvis_tf.models.text_encoder import encode_stories
from storyvis_tf.training import families, objectives, storygan_objectives
from storyvis_tf.training.callbacks import HierarchicalReclustering
from storyvis_tf.training.clustering_memory import (ClusteringMemory, clustering_feature_dim,
                                                     rows_per_frame)
from storyvis_tf.training.pretrained import build_encoders
from storyvis_tf.training.run_dir import build_generator, generate_images
from storyvis_tf.training.weight_average import WeightAverage

PRECISION_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
ENCODERS = ("text_encoder", "image_encoder", "visual_head", "language_head")
# Independent random streams of a training step, folded into its (seed, step) key.
_NOISE_STREAM, _CONDITION_NOISE_STREAM = 0, 1


class StoryGAN(keras.Model):
    """Text encoder (frozen), image encoder (frozen), generator, discriminator (fusion or
    joint, `models.discriminator`), the discriminator-owned projection heads f (visual) and g
    (language), the clustering state (None when config.losses.cluster is off) and the
    generator's weight average (`weight_average`; None when train.generator_average_decay is 0,
    else built for the generator's weights and updated after every generator step).

    call({"token_ids": [B, T, L], "noise": [B, noise_dim]}) -> story images [B, T, H, W, 3].
    Train with `compile(d_optimizer, g_optimizer)` and `fit` on batches of
    {"images", "token_ids"} (+ "labels" with generator.use_character_labels, and
    "mismatched_token_ids", other stories' sentences, with losses.mismatched_pairs, and
    "mismatched_labels", their labels, when discriminator.label_projection is on too; see
    `mismatched_stories`); see
    `build_story_gan` for everything built and ready.
    """

    def __init__(self, config: ml_collections.ConfigDict, text_encoder, image_encoder, generator,
                 discriminator, visual_head, language_head, clustering=None,
                 generator_average=None, **kwargs):
        super().__init__(**kwargs)
        if config.losses.cluster != (clustering is not None):
            raise ValueError("StoryGAN needs a ClusteringMemory exactly when "
                             "config.losses.cluster is on")
        self.config = config
        self.text_encoder, self.image_encoder = text_encoder, image_encoder
        self.text_encoder.trainable = False
        self.image_encoder.trainable = False
        if (not config.discriminator.train_heads or config.clustering.mode == "offline"
                or not families.trains_projection_heads(config)):
            visual_head.trainable = language_head.trainable = False
        self.generator, self.discriminator = generator, discriminator
        self.visual_head, self.language_head = visual_head, language_head
        self.clustering = clustering
        self.generator_average = generator_average
        self.trackers = {f"{side}_{term}": keras.metrics.Mean(name=f"{side}_{term}")
                         for side, terms in loss_term_names(config).items() for term in terms}

    def compile(self, d_optimizer, g_optimizer, jit_compile=False):
        # No `optimizer`: Keras' default would be an unused RMSprop that BackupAndRestore builds
        # (slots for every weight) and checkpoints.
        super().compile(optimizer=None, jit_compile=jit_compile)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    @property
    def discriminator_variables(self):
        """What the discriminator's optimiser trains: D and the projection heads f, g (frozen
        with the encoders in offline clustering, Sec. 4.2, and held by no optimiser with
        discriminator.train_heads off, the authors' code)."""
        return (self.discriminator.trainable_variables + self.visual_head.trainable_variables
                + self.language_head.trainable_variables)

    def fit(self, *args, callbacks=None, **kwargs):
        """keras.Model.fit, plus the host-side re-clustering online hierarchical clustering
        needs (`callbacks.HierarchicalReclustering`) when it is not among `callbacks`: without
        it the centroids would never be computed and the clustering term would stay 0."""
        callbacks = list(callbacks or [])
        if (self.clustering is not None and self.clustering.mode == "online"
                and self.clustering.algorithm == "hierarchical"
                and not any(isinstance(c, HierarchicalReclustering) for c in callbacks)):
            callbacks.append(HierarchicalReclustering())
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def call(self, inputs, training=False):
        return generate_images(self.text_encoder, self.generator, inputs["token_ids"],
                               inputs["noise"], inputs.get("labels"))

    def build_networks(self, sentence_length: int, num_labels: int = 0) -> None:
        """Creates every network's weights with an inference pass (so no batch-norm statistics
        or spectral-norm vectors move) on a dummy batch of one story, or of
        discriminator.minibatch_stddev_group stories when that is on, so that the frames split
        into its groups. num_labels: the dataset's label count, needed with
        generator.use_character_labels and discriminator.label_projection."""
        frames = self.config.data.frames_per_story
        if self.config.generator.use_character_labels and num_labels < 1:
            raise ValueError("generator.use_character_labels needs the dataset's number of "
                             "labels (num_labels >= 1)")
        stories = max(1, self.config.discriminator.minibatch_stddev_group)
        text = encode_stories(self.text_encoder, ops.ones((stories, frames, sentence_length),
                                                          dtype="int32"))
        story = {"labels": ops.zeros((stories, frames, num_labels))}
        noise = ops.zeros((stories, self.config.generator.noise_dim))
        images = self.generator(self.generator_inputs(story, text, noise),
                                training=False)["images"]
        objectives.embed_story(self, images, text, self.config.losses.story_image)
        objectives.frame_logits(self, self.config, images, text,
                                objectives.projected_labels(self.config, story["labels"]),
                                training=False)
        self.built = True

    def train_step(self, batch):
        import tensorflow as tf

        text = encode_stories(self.text_encoder, batch["token_ids"], training=False)
        stories = tf.shape(batch["token_ids"])[0]
        generator = self.config.generator
        noise = self._story_normal(stories, generator.noise_dim, _NOISE_STREAM)
        condition_noise = (self._story_normal(stories, generator.condition_dim,
                                              _CONDITION_NOISE_STREAM)
                           if generator.conditioning_augmentation else None)
        with tf.GradientTape() as generator_tape:
            generated = self.generator(
                self.generator_inputs(batch, text, noise, condition_noise), training=True)

        mismatched_text = (encode_stories(self.text_encoder, batch["mismatched_token_ids"],
                                          training=False)
                           if self.config.losses.mismatched_pairs else None)

        # Discriminator step (Eq. 7-8): real pairs train D and the heads f, g; fakes held fixed.
        with tf.GradientTape() as discriminator_tape:
            d_terms, real_features = objectives.discriminator_losses(
                self, self.config, batch["images"], ops.stop_gradient(generated["images"]), text,
                gather=_gather_replicas, mismatched_text=mismatched_text,
                labels=batch["labels"], mismatched_labels=batch.get("mismatched_labels"))
            if self.config.losses.r1_gamma:
                d_terms = objectives.add_r1(
                    d_terms, self._r1_penalty(batch["images"], text, batch["labels"]),
                    self.config.losses.r1_gamma)
            d_loss = _replica_share(self.d_optimizer, d_terms["total"])
        d_variables = self.discriminator_variables
        self.d_optimizer.apply(discriminator_tape.gradient(d_loss, d_variables), d_variables)
        if self.clustering is not None:
            self.clustering.update(_gather_replicas(real_features))

        # Generator step (Eq. 9-10 + KL): the same fakes against the updated discriminator.
        with generator_tape:
            g_terms = objectives.generator_losses(self, self.config, generated, text,
                                                  gather=_gather_replicas, labels=batch["labels"])
            g_loss = _replica_share(self.g_optimizer, g_terms["total"])
        g_variables = self.generator.trainable_variables
        self.g_optimizer.apply(generator_tape.gradient(g_loss, g_variables), g_variables)
        if self.generator_average is not None:
            self.generator_average.update(self.generator.weights, self.g_optimizer.iterations)
        return self._track(d=d_terms, g=g_terms)

    def _r1_penalty(self, real_images, text, labels):
        """`objectives.r1_penalty` of the gradient of `objectives.r1_score` with respect to the
        real frames, taken with a gradient tape."""
        import tensorflow as tf

        real_images = tf.convert_to_tensor(real_images)
        with tf.GradientTape() as tape:
            tape.watch(real_images)
            score = objectives.r1_score(self, self.config, real_images, text, labels)
        return objectives.r1_penalty(tape.gradient(score, real_images))

    def averaged_generator(self):
        """Context in which the generator holds its weight average (samples, run-directory
        weights); its trained weights come back after. A no-op without an average."""
        if self.generator_average is None:
            return contextlib.nullcontext()
        return self.generator_average.swapped_in(self.generator.weights)

    def generator_inputs(self, batch, text, noise, condition_noise=None):
        """The generator's input dict for a batch of stories, its encoded text, its noise z and,
        optionally, the conditioning augmentation's noise (else the generator draws its own)."""
        inputs = {"noise": noise, "sentence": text["sentence"], "words": text["words"],
                  "word_mask": text["mask"], "story": text["story"]}
        if self.config.generator.use_character_labels:
            inputs["labels"] = batch["labels"]
        if condition_noise is not None:
            inputs["condition_noise"] = condition_noise
        return inputs

    def _story_normal(self, stories, dim, stream):
        """N(0, I) [stories, dim] for this replica's `stories`: drawn for the global batch from
        (config.seed, step) and `stream`, this replica's slice taken, so neither the replica
        count nor a resume changes a story's draw."""
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        seed = tf.stack([tf.constant(self.config.seed, tf.int64),
                         tf.cast(self.g_optimizer.iterations, tf.int64)])
        noise = tf.random.stateless_normal(
            [context.num_replicas_in_sync, stories, dim],
            seed=tf.random.experimental.stateless_fold_in(seed, stream))
        return tf.gather(noise, context.replica_id_in_sync_group)

    def _track(self, **sides):
        for side, terms in sides.items():
            for term, value in terms.items():
                self.trackers[f"{side}_{term}"].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def loss_term_names(config) -> dict[str, tuple[str, ...]]:
    """The keys of `discriminator_losses` ("d") and `generator_losses` ("g") under `config`."""
    if config.model.family == "storygan":
        return storygan_objectives.loss_term_names(config)
    losses = config.losses
    contrastive = [key for key, switch in objectives.CONTRASTIVE_SWITCHES.items()
                   if losses[switch]]
    character = ("character",) if losses.character_classification else ()
    cluster = ("cluster",) if losses.cluster else ()
    kl = ("kl",) if config.generator.conditioning_augmentation else ()
    r1 = ("r1",) if losses.r1_gamma else ()
    interpolation = ("interpolation",) if config.model.text_interpolation else ()
    generator_levels = objectives.generator_alignment_levels(config)
    return {"d": ("gan", *character, *contrastive, *cluster, *r1, "total"),
            "g": ("gan", *character, *interpolation,
                  *(key for key in contrastive if key in generator_levels),
                  *(cluster if generator_levels else ()), *kl, "total")}


def training_features(batch: dict, config) -> dict:
    """What train_step reads (fit cannot distribute string tensors it does not need), and the
    mismatched sentences when losses.mismatched_pairs asks for them (with their labels when
    discriminator.label_projection needs those too). `batch`: tensors (the tf.data pipeline) or
    NumPy arrays (`mismatched_stories`)."""
    features = {key: batch[key] for key in ("images", "token_ids", "labels")}
    if config.losses.mismatched_pairs:
        features["mismatched_token_ids"] = mismatched_stories(batch["token_ids"])
        if config.discriminator.label_projection:
            features["mismatched_labels"] = mismatched_stories(batch["labels"])
    return features


def mismatched_stories(stories):
    """Each story's sentences (token ids [B, T, L], or their labels [B, T, C]) paired with the
    next story's in the (global) batch: the mismatched pairs of losses.mismatched_pairs.
    Computed on the global batch before fit distributes it, so the pairing does not depend on
    the replica count: a TensorFlow op on a tensor, as it runs in the tf.data pipeline under
    either Keras backend; the same roll in NumPy on an array (benchmarks' random batches)."""
    if isinstance(stories, np.ndarray):
        return np.roll(stories, 1, axis=0)
    import tensorflow as tf

    return tf.roll(stories, 1, axis=0)


def _gather_replicas(x):
    """A replica's [n, ...] -> the global batch's [N, ...] (identity on one replica). The
    all-gather's gradient sums the replicas' upstream gradients and hands each its slice."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync
    if replicas == 1:
        return x
    gathered = (tf.cast(context.all_gather(tf.cast(x, tf.int32), axis=0), tf.bool)
                if x.dtype == tf.bool else context.all_gather(x, axis=0))
    # all_gather forgets the static shape, which the losses' reshapes need.
    rows = None if x.shape[0] is None else x.shape[0] * replicas
    return tf.ensure_shape(gathered, [rows, *x.shape[1:]])


def _replica_share(optimizer, loss):
    """What this replica differentiates of a global-batch loss: the loss divided by the replica
    count (the optimiser sums the replicas' gradients), scaled for float16 by a
    LossScaleOptimizer (`scale_loss` is the identity for a plain optimiser)."""
    import tensorflow as tf

    return optimizer.scale_loss(loss / tf.distribute.get_replica_context().num_replicas_in_sync)


def build_story_gan(config: ml_collections.ConfigDict, vocab_size: int, max_sentence_length: int,
                    pretrained: dict | None = None, strategy=None,
                    num_labels: int = 0) -> StoryGAN:
    """Every network, the clustering state and both optimisers, created and built inside
    `strategy.scope()` (default: the current tf.distribute strategy; under the JAX backend, one
    replica and no TensorFlow: `jax_distribution` distributes there) under
    config.train.mixed_precision, compiled and ready for `fit`.

    pretrained: `training.pretrained.load_pretrained` output (text_encoder, image_encoder,
    visual_head, language_head, centroids), created under the same strategy's scope; without
    it the encoders and heads start from random weights (tests, smoke runs). Offline clustering
    needs its centroids. num_labels: labels per frame in the data (generator.use_character_labels,
    losses.character_classification, discriminator.label_projection).
    """
    strategy = strategy or _current_strategy()
    replicas = strategy.num_replicas_in_sync
    if config.train.jit_compile and replicas > 1:
        raise ValueError(f"train.jit_compile=True does not work with MirroredStrategy over "
                         f"{replicas} replicas (Keras 3 / TF 2.21): set it to False")
    if config.losses.character_classification and num_labels < 1:
        raise ValueError("losses.character_classification needs a dataset with character labels "
                         "(its manifest lists no label_names)")
    if config.discriminator.label_projection and num_labels < 1:
        raise ValueError("discriminator.label_projection needs a dataset with character labels "
                         "(its manifest lists no label_names)")
    if config.losses.character_fake_frames and not config.losses.character_classification:
        raise ValueError("losses.character_fake_frames trains the character classifier of "
                         "losses.character_classification, which is off")
    if config.train.batch_size % replicas:
        raise ValueError(f"train.batch_size = {config.train.batch_size} stories must divide "
                         f"evenly over the {replicas} replicas")
    replica_frames = config.train.batch_size // replicas * config.data.frames_per_story
    group = config.discriminator.minibatch_stddev_group
    if group and replica_frames > group and replica_frames % group:
        raise ValueError(f"discriminator.minibatch_stddev_group = {group} does not divide the "
                         f"{replica_frames} frames each replica's discriminator sees "
                         f"(train.batch_size / replicas x data.frames_per_story)")
    with _dtype_policy(config.train.mixed_precision), strategy.scope():
        encoders = (build_encoders(config, vocab_size, config.data.image_size,
                                   max_sentence_length) if pretrained is None else pretrained)
        regions = _region_count(encoders["image_encoder"], config.data.image_size)
        networks = _networks(config, encoders, regions, num_labels)
        decay = config.train.generator_average_decay
        gan = _story_gan_class()(config, **networks, clustering=_clustering_memory(
            config, regions, max_sentence_length, pretrained),
            generator_average=WeightAverage(decay, name="generator_average") if decay else None)
        gan.build_networks(max_sentence_length, num_labels)
        if gan.generator_average is not None:
            gan.generator_average.build_for(gan.generator.weights)
        gan.compile(d_optimizer=_adam(config.train.discriminator_learning_rate, config.train,
                                      "discriminator_adam"),
                    g_optimizer=_adam(config.train.generator_learning_rate, config.train,
                                      "generator_adam"),
                    jit_compile=config.train.jit_compile)
        gan.d_optimizer.build(gan.discriminator_variables)
        gan.g_optimizer.build(gan.generator.trainable_variables)
    if replicas > 1:
        for layer in gan._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = True
    return gan


def _story_gan_class() -> type:
    """StoryGAN, or under the JAX backend its subclass with the stateless JAX train step
    (`jax_step.JaxStoryGAN`; imported here, as it subclasses StoryGAN)."""
    if keras.backend.backend() == "jax":
        from storyvis_tf.training.jax_step import JaxStoryGAN
        return JaxStoryGAN
    return StoryGAN


def _current_strategy():
    """The tf.distribute strategy in scope; under the JAX backend, which distributes through
    keras.distribution (`jax_distribution`) and may run without TensorFlow, `_OneReplica`."""
    if keras.backend.backend() == "jax":
        return _OneReplica()
    import tensorflow as tf

    return tf.distribute.get_strategy()


class _OneReplica:
    """What build_story_gan reads of a strategy: one replica, and a scope that does nothing."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def _networks(config, encoders, regions: int, num_labels) -> dict:
    """The encoders and heads of `encoders`, and config.model.family's generator and
    discriminator (the clustering family's D sees the image encoder's `regions`, a square
    grid)."""
    networks = {**{key: encoders[key] for key in ENCODERS}, "generator": build_generator(config)}
    if families.family_name(config) != "clustering":
        return {**networks, "discriminator": families.build_baseline_discriminator(config)}
    return {**networks, "discriminator": build_discriminator(
        config.discriminator, config.text_encoder.hidden_dim, config.data.image_size,
        num_labels if config.losses.character_classification else 0,
        num_labels if config.discriminator.label_projection else 0,
        region_grid=int(round(regions ** 0.5)))}


def _region_count(image_encoder, image_size: int) -> int:
    """The number of regions the image encoder gives an image_size frame."""
    return image_encoder(ops.zeros((1, image_size, image_size, 3)))["regions"].shape[1]


def _clustering_memory(config, regions: int, sentence_length, pretrained):
    if not config.losses.cluster:
        return None
    kind = config.clustering.features
    return ClusteringMemory(
        config.clustering,
        rows_per_batch=(config.train.batch_size * config.data.frames_per_story
                        * rows_per_frame(kind)),
        feature_dim=clustering_feature_dim(kind, regions, sentence_length,
                                           config.image_encoder.dim),
        seed=config.seed,
        offline_centroids=None if pretrained is None else pretrained.get("centroids"),
        name="clustering")


def _adam(learning_rate, train, name):
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=train.beta_1, beta_2=train.beta_2,
                                      name=name)
    if train.mixed_precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{name}_loss_scale")
    return optimizer


@contextlib.contextmanager
def _dtype_policy(name):
    """Layers created inside take `name` as their dtype policy; the global policy is restored."""
    if name not in PRECISION_POLICIES:
        raise ValueError(f"unknown train.mixed_precision {name!r}: expected one of "
                         f"{PRECISION_POLICIES}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def parameter_counts(gan: StoryGAN) -> dict[str, int]:
    """Trainable parameters of the generator and the discriminator (Table 1's columns) and of
    the discriminator-owned projection heads (not in the paper's count)."""
    def count(model):
        return int(sum(np.prod(v.shape) for v in model.trainable_variables))

    return {"generator": count(gan.generator), "discriminator": count(gan.discriminator),
            "projection_heads": count(gan.visual_head) + count(gan.language_head)}
