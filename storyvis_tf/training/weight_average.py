"""An exponential moving average of the generator's weights: the "EMA generator" of ProGAN,
BigGAN and StyleGAN, which samples, run directories and exports use.

Why: a GAN generator's raw weights oscillate from step to step around what it has learnt (the
discriminator keeps moving the target), and that oscillation shows as colour noise and
artefacts in its samples; the average over the last few hundred steps draws cleaner images from
the same run at no training cost. Every generator weight is averaged, batch-norm statistics
included, with decay min(train.generator_average_decay, (1 + n) / (10 + n)) at update n (the
warm-up of tf.train.ExponentialMovingAverage's num_updates), so a short run is not dominated by
its random initial weights.

The averages are non-trainable variables written with aggregation="only_first_replica" (every
replica holds the same generator after a synchronous update) and saved with the model, so a
resumed run continues with the average it had.
"""
import contextlib

import keras
from keras import ops


class WeightAverage(keras.layers.Layer):
    """Averages of a fixed list of variables (a model's `weights`, always in that order).

    The averaged variables are passed to every method rather than held, so that the model is
    not tracked (and saved) a second time as a sublayer of this one.
    """

    def __init__(self, decay: float, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < decay < 1.0:
            raise ValueError(f"train.generator_average_decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.averages = []

    def build_for(self, variables) -> None:
        """Creates one average per variable, starting at the variable's current value."""
        self.averages = [
            self.add_weight(shape=variable.shape, dtype=variable.dtype, trainable=False,
                            initializer=keras.initializers.Constant(
                                ops.convert_to_numpy(variable.value)),
                            aggregation="only_first_replica",
                            name=variable.path.replace("/", "_"))
            for variable in variables]
        self.built = True

    def update(self, variables, step) -> None:
        """average <- d * average + (1 - d) * variable, d warmed up by the update count `step`."""
        self._check(variables)
        step = ops.cast(step, "float32")
        decay = ops.minimum(self.decay, (1.0 + step) / (10.0 + step))
        for average, variable in zip(self.averages, variables):
            mix = ops.cast(decay, average.dtype)
            average.assign(mix * average + (1.0 - mix) * ops.cast(variable, average.dtype))

    @contextlib.contextmanager
    def swapped_in(self, variables):
        """Within the block the variables hold their averages; their own values come back after
        (outside any train step: used by callbacks in the cross-replica context)."""
        self._check(variables)
        live = [ops.convert_to_numpy(variable.value) for variable in variables]
        for variable, average in zip(variables, self.averages):
            variable.assign(average.value)
        try:
            yield
        finally:
            for variable, value in zip(variables, live):
                variable.assign(value)

    def _check(self, variables) -> None:
        if len(variables) != len(self.averages):
            raise ValueError(f"WeightAverage holds {len(self.averages)} averages but was given "
                             f"{len(variables)} variables: build_for() the same model first")

    def get_config(self):
        return {**super().get_config(), "decay": self.decay}
