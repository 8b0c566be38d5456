"""Training under tf.distribute and resuming: one device and two replicas (the two logical CPUs
of tests/conftest.py) give the same update for the same global batch, and an interrupted fit
resumes with the model, the clustering state and both optimisers' state and redoes the lost
step exactly."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.training.story_gan import build_story_gan
from tests.interruption import InterruptAtSecondEpoch
from tests.tiny_gan import LENGTH, VOCAB, random_batch, tiny_config

pytestmark = pytest.mark.slow

# Weights after two SGD steps, one device vs two replicas: float32 reductions in another order
# (cross-replica sums, synchronised batch-norm moments) differ by a few float32 epsilons.
RTOL, ATOL = 1e-5, 1e-5


def _state(gan):
    """Every weight of the model (networks, clustering state) and of both optimisers, in
    order, as (path, value); two instances of a model differ only in the numbers in paths."""
    variables = gan.weights + gan.d_optimizer.variables + gan.g_optimizer.variables
    return [(v.path, np.array(v.numpy())) for v in variables]


def _equivalence_config():
    config = tiny_config(batch_size=4)
    # The clustering memory holds one batch and is re-clustered after every batch, so the
    # generator's clustering term acts from the first step and the discriminator's from the
    # second. Conditioning augmentation is on: its noise, like z, must be drawn for the global
    # batch and sliced per replica, not by each replica alike.
    config.clustering.update(memory_batches=1, every_n_batches=1)
    config.generator.conditioning_augmentation = True
    return config


def _fit_two_sgd_steps(config, strategy, run_eagerly):
    keras.utils.set_random_seed(0)
    gan = build_story_gan(config, VOCAB, LENGTH, strategy=strategy)
    # Plain SGD: Adam would normalise away a wrong gradient scale (e.g. N replicas' gradients
    # summed without dividing the loss by N), which this test must catch.
    with strategy.scope():
        gan.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05))
        gan.d_optimizer.build(gan.discriminator_variables)
        gan.g_optimizer.build(gan.generator.trainable_variables)
    gan.run_eagerly = run_eagerly
    initial = _state(gan)
    batches = tf.data.Dataset.from_tensor_slices(random_batch(config, 8)).batch(4)
    gan.fit(batches, epochs=1, verbose=0, shuffle=False)
    return initial, gan


def test_one_device_and_two_replicas_give_the_same_update():
    config = _equivalence_config()
    # The replicated run is compiled (tf.function, as in training); the one-device reference
    # runs eagerly to save a trace.
    initial, one = _fit_two_sgd_steps(config, tf.distribute.get_strategy(), run_eagerly=True)
    _, two = _fit_two_sgd_steps(config, tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]),
                                run_eagerly=False)
    one_state, two_state = _state(one), _state(two)

    assert len(one_state) == len(two_state)
    for (path, value), (_, replicated) in zip(one_state, two_state):
        np.testing.assert_allclose(replicated, value, rtol=RTOL, atol=ATOL, err_msg=path)
    moved = max(np.abs(value - start).max() for (_, value), (_, start) in zip(one_state, initial))
    assert moved > 100 * ATOL
    assert float(one.clustering.ready.numpy()) == 1.0
    np.testing.assert_allclose(two.clustering.centroids.numpy(), one.clustering.centroids.numpy(),
                               rtol=RTOL, atol=ATOL)
    # The generator's weight average (in `_state`) is swapped in for samples and run-directory
    # weights from the cross-replica context, as the callbacks do.
    with two.averaged_generator():
        for variable, average in zip(two.generator.weights, two.generator_average.averages):
            np.testing.assert_array_equal(variable.numpy(), average.numpy())


class _StateAt(keras.callbacks.Callback):
    """Records the full training state at the end of the first epoch, at the start of fit or
    after the first step of the second epoch."""

    def __init__(self, moment):
        super().__init__()
        self.moment, self.state, self.iterations = moment, None, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.moment == "second_epoch_first_step" and self.epoch == 1 and batch == 0:
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        if self.moment == "first_epoch_end" and epoch == 0:
            self._record()

    def on_train_begin(self, logs=None):
        if self.moment == "train_begin":
            self._record()

    def _record(self):
        self.state = _state(self.model)
        self.iterations = tuple(int(optimizer.iterations.numpy()) for optimizer in
                                (self.model.d_optimizer, self.model.g_optimizer))


def test_interrupted_fit_resumes_with_both_optimizer_states(tmp_path):
    config = tiny_config()
    batches = tf.data.Dataset.from_tensor_slices(random_batch(config, 4)).batch(2)
    backup = str(tmp_path / "checkpoints")

    # Eager steps: what is checked (the backup's content and the restore) does not depend on
    # tracing, and eager is faster than two traces at this size.
    keras.utils.set_random_seed(0)
    first = build_story_gan(config, VOCAB, LENGTH)
    first.run_eagerly = True
    saved, lost_step = _StateAt("first_epoch_end"), _StateAt("second_epoch_first_step")
    with pytest.raises(RuntimeError, match="interrupted"):
        first.fit(batches, epochs=2, verbose=0, shuffle=False, callbacks=[
            keras.callbacks.BackupAndRestore(backup), saved, lost_step,
            InterruptAtSecondEpoch()])
    assert int(first.g_optimizer.iterations.numpy()) == 3   # 2 steps + 1 of the lost epoch

    keras.utils.set_random_seed(1)   # other initial weights: everything must come from the backup
    second = build_story_gan(config, VOCAB, LENGTH)
    second.run_eagerly = True
    restored, redone_step = _StateAt("train_begin"), _StateAt("second_epoch_first_step")
    history = second.fit(batches, epochs=2, verbose=0, shuffle=False, callbacks=[
        keras.callbacks.BackupAndRestore(backup), restored, redone_step])

    assert len(restored.state) == len(saved.state)
    for (path, value), (_, restored_value) in zip(saved.state, restored.state):
        np.testing.assert_array_equal(restored_value, value, err_msg=path)
    assert restored.iterations == saved.iterations == (2, 2)
    assert len(history.history["g_total"]) == 1                 # only the second epoch ran
    assert int(second.d_optimizer.iterations.numpy()) == 4
    assert int(second.g_optimizer.iterations.numpy()) == 4
    # The redone step is the lost one bit for bit: its noise (z and the conditioning
    # augmentation's) comes from (seed, step), not from random state outside the backup.
    assert redone_step.iterations == lost_step.iterations == (3, 3)
    for (path, value), (_, redone) in zip(lost_step.state, redone_step.state):
        np.testing.assert_array_equal(redone, value, err_msg=path)
