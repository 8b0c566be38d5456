"""The generator's weight average: its update rule, the swap that samples and run directories
use, and its place in the GAN's train step."""
import keras
import numpy as np
import pytest

from storyvis_tf.training.story_gan import build_story_gan
from storyvis_tf.training.weight_average import WeightAverage
from tests.tiny_gan import LENGTH, VOCAB, random_batch, tiny_config


def _variables():
    return [keras.Variable(np.array([1.0, -2.0], "float32"), name="w"),
            keras.Variable(np.full((2, 2), 3.0, "float32"), name="v", trainable=False)]


def test_average_follows_the_warmed_up_decay():
    variables = _variables()
    average = WeightAverage(0.9)
    average.build_for(variables)
    expected = [np.array(v.numpy()) for v in variables]
    for step, shift in ((1, 1.0), (2, -4.0), (50, 2.0)):
        for variable in variables:
            variable.assign(variable.numpy() + shift)
        average.update(variables, step)
        decay = min(0.9, (1 + step) / (10 + step))   # 2/11, 3/12, then 0.9
        expected = [decay * e + (1 - decay) * v.numpy() for e, v in zip(expected, variables)]
    for held, want in zip(average.averages, expected):
        np.testing.assert_allclose(held.numpy(), want, rtol=1e-6)


def test_swapped_in_holds_the_averages_and_restores_the_weights_even_on_error():
    variables = _variables()
    average = WeightAverage(0.5)
    average.build_for(variables)
    variables[0].assign([5.0, 5.0])
    average.update(variables, 100)                       # average of w: [3, 1.5]
    with average.swapped_in(variables):
        np.testing.assert_allclose(variables[0].numpy(), [3.0, 1.5])
    np.testing.assert_allclose(variables[0].numpy(), [5.0, 5.0])
    with pytest.raises(KeyError), average.swapped_in(variables):
        raise KeyError("sampling failed")
    np.testing.assert_allclose(variables[0].numpy(), [5.0, 5.0])


def test_average_refuses_other_variables_and_a_bad_decay():
    average = WeightAverage(0.99)
    average.build_for(_variables())
    with pytest.raises(ValueError, match="holds 2 averages but was given 1"):
        average.update(_variables()[:1], 1)
    with pytest.raises(ValueError, match="generator_average_decay must be in"):
        WeightAverage(1.0)


def test_train_step_updates_the_generator_average_that_samples_swap_in():
    keras.utils.set_random_seed(0)
    config = tiny_config()
    gan = build_story_gan(config, VOCAB, LENGTH)
    start = [np.array(v.numpy()) for v in gan.generator.weights]
    gan.train_step(random_batch(config, 2))
    trained = [np.array(v.numpy()) for v in gan.generator.weights]
    averages = [np.array(a.numpy()) for a in gan.generator_average.averages]
    # First update: decay 2/11 (g_optimizer.iterations is 1 after the step).
    for s, t, a in zip(start, trained, averages):
        np.testing.assert_allclose(a, 2 / 11 * s + 9 / 11 * t, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, t) for a, t in zip(averages, trained))
    with gan.averaged_generator():
        for variable, a in zip(gan.generator.weights, averages):
            np.testing.assert_array_equal(variable.numpy(), a)
    for variable, t in zip(gan.generator.weights, trained):
        np.testing.assert_array_equal(variable.numpy(), t)


def test_decay_zero_keeps_no_average():
    config = tiny_config()
    config.train.generator_average_decay = 0.0
    gan = build_story_gan(config, VOCAB, LENGTH)
    assert gan.generator_average is None
    with gan.averaged_generator():
        pass
