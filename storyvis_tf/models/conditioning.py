"""Conditioning augmentation (StackGAN, Zhang et al. 2017), as StoryGAN applies it to the story.

Instead of a fixed text code, the generator is conditioned on c ~ N(mu(x), diag(sigma^2(x))),
sampled with the reparameterisation c = mu + sigma * eps, eps ~ N(0, I). Small perturbations of
the condition smooth the conditioning manifold; the KL(N(mu, sigma^2) || N(0, I)) term of the
generator loss (weight losses.kl_weight) keeps the distribution close to the prior.
"""
import keras
from keras import ops


class ConditioningAugmentation(keras.layers.Layer):
    """x [N, Dx] -> {"condition": [N, dim], "mu": [N, dim], "logvar": [N, dim]}.

    training: condition = mu + exp(logvar / 2) * eps with eps from a keras.random.SeedGenerator
    (so the draw is reproducible and traceable under tf.function and jax.jit); inference:
    condition = mu. mu and logvar are float32 whatever the policy, as they feed the KL loss.
    mu and log sigma^2 are a plain linear map of x (StackGAN's code adds a ReLU, which forces
    sigma >= 1 and keeps the KL term from reaching zero; we do not).
    """

    def __init__(self, dim: int, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.seed = seed
        self.moments = keras.layers.Dense(2 * dim, name="moments")
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    def call(self, x, training=False):
        mu, logvar = ops.split(ops.cast(self.moments(x), "float32"), 2, axis=-1)
        condition = mu
        if training:
            eps = keras.random.normal(ops.shape(mu), dtype="float32", seed=self.seed_generator)
            condition = mu + ops.exp(0.5 * logvar) * eps
        return {"condition": ops.cast(condition, self.compute_dtype), "mu": mu, "logvar": logvar}

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "seed": self.seed}
