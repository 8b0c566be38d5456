"""Conditioning augmentation (StackGAN, Zhang et al. 2017), as StoryGAN applies it to the story.

Instead of a fixed text code, the generator is conditioned on c ~ N(mu(x), diag(sigma^2(x))),
sampled with the reparameterisation c = mu + sigma * eps, eps ~ N(0, I). Small perturbations of
the condition smooth the conditioning manifold; the KL(N(mu, sigma^2) || N(0, I)) term of the
generator loss (weight losses.kl_weight) keeps the distribution close to the prior.
"""
import keras
from keras import ops


class ConditioningAugmentation(keras.layers.Layer):
    """x [N, Dx], noise [N, dim] or None -> {"condition", "mu", "logvar"}: each [N, dim].

    training: condition = mu + exp(logvar / 2) * eps; inference: condition = mu (noise ignored).
    eps is `noise` when given: the form a training loop uses when the draw must not depend on
    where the layer runs (StoryGAN.train_step draws it for the global batch from (seed, step),
    so replicas get distinct slices and a resumed run redraws it). Without `noise`, eps comes
    from the layer's keras.random.SeedGenerator (reproducible under tf.function and jax.jit for
    a standalone training-mode call), whose state is neither replica-aware nor saved with the
    weights. mu and logvar are float32 whatever the policy, as they feed the KL loss. mu and
    log sigma^2 are a plain linear map of x (StackGAN's code adds a ReLU, which forces
    sigma >= 1 and keeps the KL term from reaching zero; we do not).
    """

    def __init__(self, dim: int, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.seed = seed
        self.moments = keras.layers.Dense(2 * dim, name="moments")
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    def call(self, x, noise=None, training=False):
        mu, logvar = ops.split(ops.cast(self.moments(x), "float32"), 2, axis=-1)
        condition = mu
        if training:
            if noise is None:
                eps = keras.random.normal(ops.shape(mu), dtype="float32",
                                          seed=self.seed_generator)
            elif noise.shape[-1] != self.dim:
                raise ValueError(f"{self.name}: condition noise must be [N, {self.dim}] "
                                 f"(generator.condition_dim), got shape {tuple(noise.shape)}")
            else:
                eps = ops.cast(noise, "float32")
            condition = mu + ops.exp(0.5 * logvar) * eps
        return {"condition": ops.cast(condition, self.compute_dtype), "mu": mu, "logvar": logvar}

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "seed": self.seed}
