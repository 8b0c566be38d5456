"""The models are backend-agnostic Keras 3: under KERAS_BACKEND=tensorflow and =jax the same
config builds the same networks, a forward pass and a compiled gradient step work, and weights
saved under TensorFlow load under JAX with the same outputs.

KERAS_BACKEND is read once, when keras is imported, so each backend runs in its own subprocess
(`worker` below); the pytest process only starts them and checks their reports.
"""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("text_encoder", "image_encoder", "generator", "discriminator")
FEATURES = ("sentence", "images", "logits", "regions")


def worker(directory: str, reference: str = "") -> None:
    """Builds tiny models, runs them, takes one compiled D and G gradient step, and writes
    directory/report.json. Without `reference` it saves weights and inference outputs to
    `directory`; with it, it loads the weights saved there and compares the outputs."""
    import keras
    import numpy as np
    from keras import ops

    from configs import default
    from storyvis_tf.models.discriminator import build_discriminator
    from storyvis_tf.models.generator import StoryGenerator
    from storyvis_tf.models.image_encoder import ImageEncoder
    from storyvis_tf.models.text_encoder import TextEncoder, encode_stories

    batch, frames, length, dim, size = 2, 3, 5, 8, 32
    c = default.get_config()
    c.generator.update(dict(noise_dim=6, condition_dim=5, base_channels=4, residual_blocks=1,
                            attention_resolutions=(16, 32), frame_gru=True))
    c.discriminator.update(dict(base_channels=4, character_trunk="separate",
                                minibatch_stddev_group=2, label_projection=True))
    keras.utils.set_random_seed(0)
    models = {"text_encoder": TextEncoder(20, 6, dim, 0.1),
              "image_encoder": ImageEncoder("compact", dim, 4),
              "generator": StoryGenerator(c.generator, size, frames, dim),
              "discriminator": build_discriminator(c.discriminator, dim, size, num_labels=3,
                                                   projection_labels=3)}
    rng = np.random.default_rng(0)
    lengths = np.array([[2, 5, 1], [3, 4, 5]])
    tokens = rng.integers(2, 20, (batch, frames, length)) * (np.arange(length) < lengths[..., None])
    noise = rng.normal(size=(batch, 6)).astype("float32")
    real = rng.uniform(-1, 1, (batch * frames, size, size, 3)).astype("float32")
    labels = (rng.random((batch * frames, 3)) < 0.5).astype("float32")
    labels[:, 0] = 1.0

    def frame_words(text):
        return {"words": ops.reshape(text["words"], (-1, length, dim)),
                "word_mask": ops.reshape(text["mask"], (-1, length)),
                "sentence": ops.reshape(text["sentence"], (-1, dim)), "labels": labels}

    def run():
        text = encode_stories(models["text_encoder"], tokens)
        generator_inputs = {"noise": noise, "sentence": text["sentence"], "words": text["words"],
                            "word_mask": text["mask"], "story": text["story"]}
        images = models["generator"](generator_inputs)["images"]
        flat_images = ops.reshape(images, (-1, size, size, 3))
        logits = models["discriminator"]({"images": flat_images, **frame_words(text)})
        logits = (logits["conditional"] + logits["unconditional"]
                  + ops.mean(logits["characters"], axis=-1))
        regions = models["image_encoder"](flat_images)["regions"]
        features = dict(zip(FEATURES, (text["sentence"], images, logits, regions)))
        return {k: np.asarray(v) for k, v in features.items()}, generator_inputs, text

    features, generator_inputs, text = run()
    report = {"backend": keras.backend.backend(),
              "shapes": {k: list(v.shape) for k, v in features.items()},
              "finite": all(bool(np.isfinite(v).all()) for v in features.values())}
    if reference:
        for name, model in models.items():
            model.load_weights(os.path.join(reference, f"{name}.weights.h5"))
        features, generator_inputs, text = run()
        saved = np.load(os.path.join(reference, "features.npz"))
        report["max_diff"] = {k: float(np.max(np.abs(features[k] - saved[k]))) for k in FEATURES}
    else:
        for name, model in models.items():
            model.save_weights(os.path.join(directory, f"{name}.weights.h5"))
        np.savez(os.path.join(directory, "features.npz"), **features)

    generator, discriminator = models["generator"], models["discriminator"]
    words = frame_words(text)
    fake = ops.reshape(generator(generator_inputs)["images"], (-1, size, size, 3))

    def discriminator_loss(logits_of):
        real_logits, fake_logits = (logits_of({"images": x, **words}) for x in (real, fake))
        return sum(ops.mean(ops.softplus(-real_logits[k]) + ops.softplus(fake_logits[k]))
                   for k in real_logits)

    def generator_loss(images_of):
        out = images_of(generator_inputs)
        logits = discriminator({"images": ops.reshape(out["images"], (-1, size, size, 3)),
                                **words})
        kl = -0.5 * ops.mean(1 + out["logvar"] - out["mu"] ** 2 - ops.exp(out["logvar"]))
        return sum(ops.mean(ops.softplus(-value)) for value in logits.values()) + kl

    report["losses"], report["zero_gradients"] = {}, []
    for name, model, loss in (("discriminator", discriminator, discriminator_loss),
                              ("generator", generator, generator_loss)):
        value, gradients = _compiled_gradients(model, loss)
        report["losses"][name] = float(value)
        for variable, gradient in zip(model.trainable_variables, gradients):
            if gradient is None or not np.any(np.asarray(gradient)):
                report["zero_gradients"].append(variable.path)
            else:
                report["finite"] &= bool(np.isfinite(np.asarray(gradient)).all())
                variable.assign(variable - 1e-3 * gradient)
    with open(os.path.join(directory, "report.json"), "w") as f:
        json.dump(report, f)


def _compiled_gradients(model, loss):
    """loss(call) -> scalar, where call(inputs) runs `model` in training mode. Returns the loss
    and its gradients for model.trainable_variables, computed under jax.jit or tf.function:
    the only backend-specific lines of the test."""
    import keras
    if keras.backend.backend() == "jax":
        import jax

        def pure(trainable, non_trainable):
            def call(inputs):
                return model.stateless_call(trainable, non_trainable, inputs, training=True)[0]
            return loss(call)

        return jax.jit(jax.value_and_grad(pure))(
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables])
    import tensorflow as tf

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(lambda inputs: model(inputs, training=True))
        return value, tape.gradient(value, model.trainable_variables)

    return step()


def _run_worker(backend: str, directory, reference="", worker_name="worker") -> dict:
    # JAX compiles every eager op for its shapes; XLA's backend optimisation level 0 makes those
    # many small CPU compiles several times faster, and these tiny models need no optimisation.
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_backend_optimization_level=0", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": REPO}
    code = (f"from tests.test_backends import {worker_name}; "
            f"{worker_name}({str(directory)!r}, {reference!r})")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{backend} worker failed:\n{done.stderr[-4000:]}"
    with open(os.path.join(directory, "report.json")) as f:
        return json.load(f)


def _check(report: dict, backend: str) -> None:
    assert report["backend"] == backend
    assert report["shapes"] == {"sentence": [2, 3, 8], "images": [2, 3, 32, 32, 3],
                                "logits": [6], "regions": [6, 16, 8]}
    assert report["finite"], "non-finite outputs or gradients"
    assert report["zero_gradients"] == [], "variables that get no gradient"


@pytest.fixture(scope="module")
def tensorflow_report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tensorflow")
    return directory, _run_worker("tensorflow", directory)


@pytest.mark.slow
def test_tensorflow_backend(tensorflow_report):
    _check(tensorflow_report[1], "tensorflow")


@pytest.mark.slow
def test_jax_backend_loads_tensorflow_weights(tensorflow_report, tmp_path):
    report = _run_worker("jax", tmp_path, reference=str(tensorflow_report[0]))
    _check(report, "jax")
    assert max(report["max_diff"].values()) < 1e-4, report["max_diff"]


def family_worker(directory: str, reference: str = "") -> None:
    """The baseline families' networks and objectives (StoryGAN, the dynamic-block GAN, with
    GAN-INT on): one compiled D and G gradient step through `objectives`' entry points, and,
    with `reference`, the TensorFlow-saved weights giving the same inference images."""
    import types

    import keras
    import numpy as np
    from keras import ops

    from configs import dynamic_block, storygan
    from storyvis_tf.training import families, objectives
    from tests.test_model_families import tiny_config

    rng = np.random.default_rng(0)
    frames, length, dim, size = 2, 5, 16, 16
    text = {"sentence": rng.normal(size=(2, frames, dim)).astype("float32"),
            "words": rng.normal(size=(2, frames, length, dim)).astype("float32"),
            "mask": np.arange(length)[None, None] < np.array([[[2], [5]], [[3], [1]]]),
            "story": rng.normal(size=(2, dim)).astype("float32")}
    inputs = {"noise": rng.normal(size=(2, 4)).astype("float32"), "sentence": text["sentence"],
              "words": text["words"], "word_mask": text["mask"], "story": text["story"],
              "condition_noise": rng.normal(size=(2, 6)).astype("float32")}
    real = rng.uniform(-1, 1, (2, frames, size, size, 3)).astype("float32")
    report = {"backend": keras.backend.backend(), "finite": True, "zero_gradients": [],
              "max_diff": {}}
    for name, module in (("storygan", storygan), ("dynamic_block", dynamic_block)):
        keras.utils.set_random_seed(0)
        config = tiny_config(module)
        config.model.text_interpolation = True
        generator = families.build_generator(config)
        discriminator = families.build_baseline_discriminator(config)
        networks = types.SimpleNamespace(discriminator=discriminator)
        fake = generator(inputs)["images"]
        objectives.frame_logits(networks, config, fake, text, training=False)
        path = os.path.join(reference or directory, f"{name}_generator.weights.h5")
        if reference:
            generator.load_weights(path)
            report["max_diff"][name] = float(np.max(np.abs(
                np.asarray(generator(inputs)["images"]) - np.load(path + ".npy"))))
        else:
            generator.save_weights(path)
            np.save(path + ".npy", np.asarray(generator(inputs)["images"]))

        def discriminator_loss(call):
            judged = types.SimpleNamespace(discriminator=lambda x, training=True: call(x))
            return objectives.discriminator_losses(judged, config, real, fake, text)[0]["total"]

        def generator_loss(call):
            return objectives.generator_losses(networks, config, call(inputs), text)["total"]

        for model, loss in ((discriminator, discriminator_loss), (generator, generator_loss)):
            value, gradients = _compiled_gradients(model, loss)
            report["finite"] &= bool(np.isfinite(float(value)))
            for variable, gradient in zip(model.trainable_variables, gradients):
                if gradient is None or not np.any(np.asarray(gradient)):
                    report["zero_gradients"].append(variable.path)
                else:
                    report["finite"] &= bool(np.isfinite(np.asarray(gradient)).all())
    with open(os.path.join(directory, "report.json"), "w") as f:
        json.dump(report, f)


@pytest.mark.slow
def test_model_families_train_and_load_under_both_backends(tmp_path_factory):
    saved = tmp_path_factory.mktemp("families_tensorflow")
    for backend, directory, reference in (("tensorflow", saved, ""),
                                          ("jax", tmp_path_factory.mktemp("families_jax"),
                                           str(saved))):
        report = _run_worker(backend, directory, reference, worker_name="family_worker")
        assert report["backend"] == backend
        assert report["finite"], "non-finite losses or gradients"
        assert report["zero_gradients"] == [], "variables that get no gradient"
    assert max(report["max_diff"].values()) < 1e-4, report["max_diff"]
