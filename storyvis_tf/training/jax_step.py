"""The story-GAN train step under the JAX backend (KERAS_BACKEND=jax): `JaxStoryGAN`, the
StoryGAN whose `train_step(state, batch)` is the stateless, jit-compiled form of the TensorFlow
step, for Keras' JAX trainer (`fit`).

It is the same update as `StoryGAN.train_step`, built from the same
`objectives.discriminator_losses` / `generator_losses`: encode the sentences, generate the
stories once, a discriminator step, the clustering memory update, a generator step on the same
fakes against the updated discriminator, the generator's weight average, the loss trackers.
What differs is only the plumbing:
- gradients: `jax.value_and_grad` of each side's total loss with respect to that side's
  weights; the generator's forward pass runs once under `jax.vjp`, its pullback takes the
  gradient of the generator loss with respect to the fakes (as the TF step's persistent tape);
- state: every variable of the model and both optimisers is a value in Keras' JAX training
  state; the networks run inside a `keras.StatelessScope` mapping each variable to its current
  value, and what they assign (batch-norm statistics, spectral-norm vectors, the clustering
  memory, the weight average, the trackers) is read back from the scope into the next state;
- assigned trainable weights: Keras' SpectralNormalization writes the normalised kernel into
  its (trainable) kernel variable in training mode, and TensorFlow's tape differentiates the
  kernel as read after that write, not through the normalisation. `_StepScope` gives such a
  write the same meaning under `jax.grad`: the value written, with the gradient of the weight
  it replaces (`_written`);
- noise: z and the conditioning augmentation's noise are `jax.random.normal` draws for the
  global batch from a key folded from (config.seed, generator step, stream), so neither the
  device count nor a resume changes them. They are not the TensorFlow step's numbers (its
  `tf.random.stateless_normal` is another generator); tests feed both steps the same noise;
- distribution: the step is written for the global batch; `keras.distribution.DataParallel`
  (`jax_distribution`) shards the batch and XLA partitions the same program, so the
  contrastive terms see the whole batch and batch normalisation the global moments without
  any gather in this code.
The step is always compiled (jax.jit): config.train.jit_compile is the TensorFlow backend's
XLA switch.
"""
import jax
import keras
import numpy as np
from keras import ops

from storyvis_tf.models.text_encoder import encode_stories
from storyvis_tf.training import objectives
from storyvis_tf.training.story_gan import StoryGAN

# Independent random streams of a training step, folded into its (seed, step) key.
_NOISE_STREAM, _CONDITION_NOISE_STREAM = 0, 1


class JaxStoryGAN(StoryGAN):
    """`StoryGAN` trained by Keras' JAX trainer: same networks, weights, saved files and
    `compile(d_optimizer, g_optimizer)`; `train_step(state, batch)` (module docstring)."""

    def compile(self, d_optimizer, g_optimizer, jit_compile=True):
        super().compile(d_optimizer, g_optimizer, jit_compile=True)
        # Keras' JAX trainer carries `model.optimizer.variables` through fit as the state's
        # optimizer_variables and writes them back at epoch ends: here both optimisers'.
        self.optimizer = _OptimizerPair(d_optimizer, g_optimizer)

    def story_noise(self, step, stories: int) -> tuple:
        """(z [stories, noise_dim], the conditioning augmentation's noise [stories,
        condition_dim] or None) of generator step `step` (a traced int)."""
        generator = self.config.generator
        key = jax.random.fold_in(jax.random.key(self.config.seed), step)

        def normal(dim, stream):
            return jax.random.normal(jax.random.fold_in(key, stream), (stories, dim), "float32")

        condition = (normal(generator.condition_dim, _CONDITION_NOISE_STREAM)
                     if generator.conditioning_augmentation else None)
        return normal(generator.noise_dim, _NOISE_STREAM), condition

    def train_step(self, state, batch):
        variables = _state_variables(self)
        current = {id(v): value for v, value in
                   zip(variables, (value for part in state for value in part))}
        config = self.config

        def scope(differentiated=()):
            return _StepScope(variables, current, differentiated)

        with scope():
            text = encode_stories(self.text_encoder, batch["token_ids"], training=False)
            mismatched_text = (encode_stories(self.text_encoder, batch["mismatched_token_ids"],
                                              training=False)
                               if config.losses.mismatched_pairs else None)
        noise, condition_noise = self.story_noise(current[id(self.g_optimizer.iterations)],
                                                  batch["token_ids"].shape[0])

        g_variables = self.generator.trainable_variables

        def generate(g_values):
            with scope(zip(g_variables, g_values)) as generating:
                generated = self.generator(
                    self.generator_inputs(batch, text, noise, condition_noise), training=True)
            return generated, generating.values()

        generated, generator_pullback, updates = jax.vjp(
            generate, _values(current, g_variables), has_aux=True)
        current.update(updates)

        # Discriminator step (Eq. 7-8): real pairs train D and the heads f, g; fakes held fixed.
        d_variables = self.discriminator_variables

        def discriminator_objective(d_values):
            with scope(zip(d_variables, d_values)) as discriminating:
                terms, real_features = objectives.discriminator_losses(
                    self, config, batch["images"], generated["images"], text,
                    mismatched_text=mismatched_text, labels=batch["labels"],
                    mismatched_labels=batch.get("mismatched_labels"))
                if config.losses.r1_gamma:
                    terms = objectives.add_r1(
                        terms, self._r1_penalty(discriminating, batch["images"], text,
                                                batch["labels"]), config.losses.r1_gamma)
                loss = self.d_optimizer.scale_loss(terms["total"])
            return loss, (terms, real_features, discriminating.values())

        (_, (d_terms, real_features, updates)), d_gradients = jax.value_and_grad(
            discriminator_objective, has_aux=True)(_values(current, d_variables))
        current.update(updates)
        _apply(self.d_optimizer, d_gradients, d_variables, current)
        if self.clustering is not None:
            with scope() as clustering:
                self.clustering.update(real_features)
            current.update(clustering.values())

        # Generator step (Eq. 9-10 + KL): the same fakes against the updated discriminator.
        def generator_objective(outputs):
            with scope() as judging:
                terms = objectives.generator_losses(self, config, outputs, text,
                                                    labels=batch["labels"])
                loss = self.g_optimizer.scale_loss(terms["total"])
            return loss, (terms, judging.values())

        (g_terms, updates), output_gradients = _output_gradients(generator_objective, generated)
        current.update(updates)
        g_gradients, = generator_pullback(output_gradients)
        _apply(self.g_optimizer, g_gradients, g_variables, current)

        with scope() as tracking:
            if self.generator_average is not None:
                self.generator_average.update(self.generator.weights, self.g_optimizer.iterations)
            logs = self._track(d=d_terms, g=g_terms)
        current.update(tracking.values())
        return logs, tuple([current[id(v)] for v in part] for part in _state_parts(self))

    def _r1_penalty(self, scope, real_images, text, labels):
        """`objectives.r1_penalty` of the gradient of `objectives.r1_score` with respect to
        the real frames, under jax.grad. What D's call writes (spectral-norm state) goes back
        into `scope`, as the TF step's D call writes its variables."""
        def score(images):
            with scope.nested() as scoring:
                total = objectives.r1_score(self, self.config, images, text, labels)
            return total, scoring.values()

        gradient, updates = jax.grad(score, has_aux=True)(real_images)
        scope.update(updates)
        return objectives.r1_penalty(gradient)


class _OptimizerPair:
    """What Keras' JAX trainer reads of `model.optimizer` (`variables`, `built`): the
    discriminator's optimiser's variables, then the generator's. Not saved with the model: the
    two optimisers are, as the model's d_optimizer and g_optimizer."""

    built = True

    def __init__(self, d_optimizer, g_optimizer):
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def variables(self):
        return self.d_optimizer.variables + self.g_optimizer.variables


class _StepScope(keras.StatelessScope):
    """A StatelessScope over all of `variables`, starting at `current` (id -> value).

    differentiated: (variable, traced value) pairs a jax.grad/vjp is taken with respect to.
    A write to one of them (Keras' spectral normalisation writes its kernel) stores the value
    written, whose gradient goes to the traced value it replaces (`_written`): TensorFlow's
    meaning of a tape over a variable that is assigned and read again.
    """

    def __init__(self, variables, current, differentiated=()):
        differentiated = list(differentiated)
        self.variables = variables
        self.differentiated = {id(v): value for v, value in differentiated}
        super().__init__([(v, self.differentiated.get(id(v), current[id(v)]))
                          for v in variables])

    def add_update(self, update):
        variable, value = update
        if id(variable) in self.differentiated:
            value = _written(self.differentiated[id(variable)], value)
        super().add_update((variable, value))

    def values(self) -> dict:
        """id(variable) -> its value now (the traced inputs for the variables never written)."""
        return {id(v): self.get_current_value(v) for v in self.variables}

    def update(self, values: dict) -> None:
        self.state_mapping.update(values)

    def nested(self) -> "_StepScope":
        """A scope starting from this one's values with the same differentiated variables,
        for a nested jax transformation (its writes are traced values of the inner
        transformation: the caller returns them as aux and `update`s this scope)."""
        nested = _StepScope(self.variables, self.values())
        nested.differentiated = self.differentiated
        return nested


def _written(replaced, value):
    """`value` (exactly) whose gradient goes, unchanged, to `replaced`: stop_gradient(value) +
    (replaced - stop_gradient(replaced)), the second term exactly 0."""
    return ops.stop_gradient(value) + (replaced - ops.stop_gradient(replaced))


def _output_gradients(objective, outputs):
    """Gradient of `objective(outputs) -> (loss, aux)` with respect to the pytree `outputs`
    (the generator's output), as its pullback takes it: the floating leaves differentiated,
    the others (masks, ids) given float0 zeros. Returns (aux, gradients)."""
    leaves, tree = jax.tree.flatten(outputs)
    floating = [jax.numpy.issubdtype(leaf.dtype, jax.numpy.inexact) for leaf in leaves]

    def of_floating(values):
        values = iter(values)
        return objective(tree.unflatten([next(values) if is_float else leaf
                                         for leaf, is_float in zip(leaves, floating)]))

    (_, aux), gradients = jax.value_and_grad(of_floating, has_aux=True)(
        [leaf for leaf, is_float in zip(leaves, floating) if is_float])
    gradients = iter(gradients)
    return aux, tree.unflatten([next(gradients) if is_float
                                else np.zeros(leaf.shape, jax.dtypes.float0)
                                for leaf, is_float in zip(leaves, floating)])


def training_state(model) -> tuple:
    """Keras' JAX training state of `model` now (the values of its trainable and non-trainable
    variables, both optimisers' and the trackers'): what `train_step` takes, for calling it
    outside fit (benchmarks)."""
    return tuple([v.value for v in part] for part in _state_parts(model))


def _state_parts(model):
    """Keras' JAX training state's variable lists, in its order."""
    return (model.trainable_variables, model.non_trainable_variables, model.optimizer.variables,
            model.metrics_variables)


def _state_variables(model) -> list:
    return [v for part in _state_parts(model) for v in part]


def _values(current, variables) -> list:
    return [current[id(v)] for v in variables]


def _apply(optimizer, gradients, variables, current) -> None:
    """`optimizer.stateless_apply` of `gradients` to `variables` at their `current` values;
    their new values and the optimiser's go into `current`."""
    new_values, optimizer_values = optimizer.stateless_apply(
        _values(current, optimizer.variables), gradients, _values(current, variables))
    current.update(zip(map(id, variables), new_values))
    current.update(zip(map(id, optimizer.variables), optimizer_values))
