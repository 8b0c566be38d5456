"""Feature extractors: Inception-v3 and R(2+1)D-18 loading and shapes, the torchvision weight
conversion, and the dataset-trained fallback (fid_domain / fsd_domain)."""
import hashlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from storyvis_tf.evaluation.character_metrics import character_f1_and_frame_accuracy
from storyvis_tf.evaluation.domain_features import train_frame_extractor, train_story_extractor
from storyvis_tf.evaluation.extractors import to_signed_unit_range
from storyvis_tf.evaluation.inception import InceptionFeatures
from storyvis_tf.evaluation.r2plus1d import (R2Plus1DFeatures, assign_torch_state_dict,
                                            build_r2plus1d_18, convert_torchvision_weights,
                                            midplanes)

# torchvision r2plus1d_18 has 31,505,325 parameters; its Kinetics classifier fc is 512*400 + 400.
R2PLUS1D_18_TRUNK_PARAMETERS = 31_505_325 - (512 * 400 + 400)


@pytest.fixture
def tiny_weights_file(tmp_path):
    """A .weights.h5 of some other, tiny network."""
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(path)
    return str(path)


# --- pixels ------------------------------------------------------------------------------------

def test_pixels_are_mapped_to_signed_unit_range():
    np.testing.assert_allclose(to_signed_unit_range(np.array([0, 255], np.uint8), "frames"),
                               [-1.0, 1.0])
    with pytest.raises(ValueError, match=r"frames must be float in \[-1, 1\]"):
        to_signed_unit_range(np.array([0.0, 255.0]), "frames")
    with pytest.raises(ValueError, match="dtype int64"):
        to_signed_unit_range(np.array([0, 1]), "frames")


# --- Inception-v3 ------------------------------------------------------------------------------

def test_inception_missing_file_names_it_and_downloads_nothing(tmp_path):
    missing = str(tmp_path / "inception_v3_notop.h5")
    with pytest.raises(FileNotFoundError, match="inception_v3_notop.h5.*nothing is downloaded"):
        InceptionFeatures(missing)
    with pytest.raises(ValueError, match="eval.inception_weights"):
        InceptionFeatures("")


def test_inception_wrong_weights_name_the_file(tiny_weights_file, tmp_path):
    with pytest.raises(ValueError, match="tiny.weights.h5.*do not match InceptionV3 without top"):
        InceptionFeatures(tiny_weights_file)
    not_hdf5 = tmp_path / "broken.h5"
    not_hdf5.write_text("not an HDF5 file")
    with pytest.raises(ValueError, match="broken.h5.*do not match InceptionV3"):
        InceptionFeatures(str(not_hdf5))


def test_inception_input_range_is_for_hub_models_only(tiny_weights_file):
    with pytest.raises(ValueError, match="Hub/SavedModel models only"):
        InceptionFeatures(tiny_weights_file, input_range=(0.0, 1.0))


class _MeanPixelInception(tf.Module):
    """A stand-in SavedModel: 2048 copies of each image's mean pixel."""

    @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
    def __call__(self, images):
        return tf.tile(tf.reduce_mean(images, axis=[1, 2, 3])[:, None], [1, 2048])


class _SignatureOnlyInception(tf.Module):
    """A TF1-Hub-like SavedModel: no __call__, a 'default' signature with TF-GAN's outputs."""

    @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
    def features(self, images):
        means = tf.reduce_mean(images, axis=[1, 2, 3])
        return {"pool_3": tf.tile(means[:, None, None, None], [1, 1, 1, 2048]),
                "logits": tf.tile(means[:, None], [1, 1008])}


@pytest.mark.parametrize("module", [_MeanPixelInception, _SignatureOnlyInception])
def test_inception_from_a_saved_model_directory(tmp_path, module):
    instance = module()
    signatures = ({"default": instance.features.get_concrete_function()}
                  if module is _SignatureOnlyInception else None)
    tf.saved_model.save(instance, str(tmp_path / "inception"), signatures=signatures)
    frames = np.stack([np.full((16, 16, 3), value, np.float32) for value in (-1.0, 0.5)])

    features = InceptionFeatures(str(tmp_path / "inception"), batch_size=1)(frames)
    assert features.shape == (2, 2048)
    np.testing.assert_allclose(features[:, 0], [-1.0, 0.5], atol=1e-6)

    unit_range = InceptionFeatures(str(tmp_path / "inception"), input_range=(0.0, 1.0))
    np.testing.assert_allclose(unit_range(frames)[:, 0], [0.0, 0.75], atol=1e-6)
    assert unit_range.identity["weights_sha256"] == InceptionFeatures(
        str(tmp_path / "inception")).identity["weights_sha256"]


@pytest.mark.slow
def test_inception_keras_weights_round_trip(tmp_path):
    trunk = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                           input_shape=(299, 299, 3))
    path = tmp_path / "inception_v3_notop.weights.h5"
    trunk.save_weights(path)
    extractor = InceptionFeatures(str(path))
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)

    features = extractor(frames)
    resized = keras.ops.image.resize(to_signed_unit_range(frames, "frames"), (299, 299))
    np.testing.assert_allclose(features, trunk.predict_on_batch(resized), rtol=1e-4, atol=1e-5)
    assert extractor.identity["weights_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


# --- R(2+1)D-18 --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def r2plus1d():
    return build_r2plus1d_18()


def _torchvision_r2plus1d_18_state_dict(seed=0):
    """Random arrays under torchvision's r2plus1d_18 state-dict names and shapes, written from
    torchvision's architecture rules (independently of the Keras model)."""
    rng = np.random.default_rng(seed)
    shapes = {}

    def conv(name, out_planes, in_planes, kernel):
        shapes[f"{name}.weight"] = (out_planes, in_planes, *kernel)

    def batch_norm(name, planes):
        for entry in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{entry}"] = (planes,)
        shapes[f"{name}.num_batches_tracked"] = ()

    conv("stem.0", 45, 3, (1, 7, 7))
    batch_norm("stem.1", 45)
    conv("stem.3", 64, 45, (3, 1, 1))
    batch_norm("stem.4", 64)
    in_planes = 64
    for stage, planes in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            name = f"layer{stage}.{block}"
            mid = (in_planes * planes * 27) // (in_planes * 9 + 3 * planes)
            for conv_name, conv_in in (("conv1", in_planes), ("conv2", planes)):
                conv(f"{name}.{conv_name}.0.0", mid, conv_in, (1, 3, 3))
                batch_norm(f"{name}.{conv_name}.0.1", mid)
                conv(f"{name}.{conv_name}.0.3", planes, mid, (3, 1, 1))
                batch_norm(f"{name}.{conv_name}.1", planes)
            if in_planes != planes:
                conv(f"{name}.downsample.0", planes, in_planes, (1, 1, 1))
                batch_norm(f"{name}.downsample.1", planes)
            in_planes = planes
    shapes["fc.weight"], shapes["fc.bias"] = (400, 512), (400,)
    state_dict = {name: rng.normal(scale=0.05, size=shape).astype(np.float32)
                  for name, shape in shapes.items()}
    for name in state_dict:
        if name.endswith("running_var"):
            state_dict[name] = rng.uniform(0.5, 1.5, size=shapes[name]).astype(np.float32)
        elif name.endswith("num_batches_tracked"):
            state_dict[name] = np.array(1000, np.int64)
    return state_dict


def test_r2plus1d_midplanes_follow_torchvision():
    assert [midplanes(i, o) for i, o in [(64, 64), (64, 128), (128, 128), (128, 256),
                                          (256, 256), (256, 512), (512, 512)]] == [
        144, 230, 288, 460, 576, 921, 1152]


def test_r2plus1d_gives_512_features_and_halves_time_and_space_per_stage(r2plus1d):
    stories = np.random.default_rng(0).uniform(-1, 1, size=(2, 5, 32, 32, 3)).astype(np.float32)
    stages = keras.Model(r2plus1d.input, [r2plus1d.get_layer(f"layer{s}.0.conv2.1").output
                                          for s in (1, 2, 3, 4)] + [r2plus1d.output])
    *stage_outputs, features = stages.predict_on_batch(stories)
    assert [tuple(o.shape[1:4]) for o in stage_outputs] == [(5, 16, 16), (3, 8, 8), (2, 4, 4),
                                                            (1, 2, 2)]
    assert features.shape == (2, 512)


def test_r2plus1d_has_torchvisions_trunk_parameter_count(r2plus1d):
    trainable = sum(int(np.prod(v.shape)) for v in r2plus1d.trainable_variables)
    state_dict = _torchvision_r2plus1d_18_state_dict()
    from_state_dict = sum(value.size for name, value in state_dict.items()
                          if name.endswith(("weight", "bias")) and not name.startswith("fc."))
    assert trainable == from_state_dict == R2PLUS1D_18_TRUNK_PARAMETERS == 31_300_125


def test_torchvision_state_dict_converts_into_the_keras_model(r2plus1d):
    state_dict = _torchvision_r2plus1d_18_state_dict(seed=1)
    assign_torch_state_dict(r2plus1d, state_dict)
    kernel = keras.ops.convert_to_numpy(r2plus1d.get_layer("layer3.0.conv1.0.3").kernel)
    np.testing.assert_array_equal(kernel, state_dict["layer3.0.conv1.0.3.weight"].transpose(
        2, 3, 4, 1, 0))
    norm = r2plus1d.get_layer("layer4.1.conv2.1")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(norm.moving_variance),
                                  state_dict["layer4.1.conv2.1.running_var"])

    # The stem conv computes torch's cross-correlation with symmetric (0, 3, 3) padding and
    # stride (1, 2, 2) on the converted kernel.
    stories = np.random.default_rng(2).uniform(-1, 1, size=(1, 2, 9, 9, 3)).astype(np.float32)
    stem = keras.Model(r2plus1d.input, r2plus1d.get_layer("stem.0").output)
    got = stem.predict_on_batch(stories)[0]
    weight = state_dict["stem.0.weight"]  # [out, in, kT, kH, kW]
    padded = np.pad(stories[0], ((0, 0), (3, 3), (3, 3), (0, 0)))
    expected = np.empty((2, 5, 5, 45), np.float32)
    for t in range(2):
        for y in range(5):
            for x in range(5):
                patch = padded[t, 2 * y:2 * y + 7, 2 * x:2 * x + 7, :]  # [kH, kW, in]
                expected[t, y, x] = np.einsum("hwc,ochw->o", patch, weight[:, :, 0])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_state_dict_conversion_reports_missing_unexpected_and_misshapen_entries(r2plus1d):
    state_dict = _torchvision_r2plus1d_18_state_dict()
    missing = {k: v for k, v in state_dict.items() if k != "layer2.0.downsample.0.weight"}
    with pytest.raises(ValueError, match=r"missing \['layer2.0.downsample.0.weight'\]"):
        assign_torch_state_dict(r2plus1d, missing)
    with pytest.raises(ValueError, match=r"unexpected \['layer5.0.weight'\]"):
        assign_torch_state_dict(r2plus1d, {**state_dict, "layer5.0.weight": np.zeros(3)})
    misshapen = {**state_dict, "stem.3.weight": np.zeros((64, 45, 1, 3, 3), np.float32)}
    with pytest.raises(ValueError, match=r"stem.3.weight has shape \(64, 45, 1, 3, 3\)"):
        assign_torch_state_dict(r2plus1d, misshapen)


def test_r2plus1d_file_errors(tmp_path, tiny_weights_file):
    with pytest.raises(FileNotFoundError, match="r2plus1d_18.weights.h5.*nothing is downloaded"):
        R2Plus1DFeatures(str(tmp_path / "r2plus1d_18.weights.h5"))
    with pytest.raises(ValueError, match="tiny.weights.h5.*do not match R\\(2\\+1\\)D-18"):
        R2Plus1DFeatures(tiny_weights_file)


@pytest.mark.slow
def test_converted_torchvision_npz_gives_the_same_features(tmp_path, r2plus1d):
    state_dict = _torchvision_r2plus1d_18_state_dict(seed=3)
    np.savez(tmp_path / "r2plus1d_18.npz", **state_dict)
    path = tmp_path / "r2plus1d_18.weights.h5"
    convert_torchvision_weights(str(tmp_path / "r2plus1d_18.npz"), str(path))
    assign_torch_state_dict(r2plus1d, state_dict)
    stories = np.random.default_rng(4).integers(0, 256, size=(3, 5, 32, 32, 3), dtype=np.uint8)

    features = R2Plus1DFeatures(str(path), batch_size=2)(stories)
    expected = r2plus1d.predict_on_batch(to_signed_unit_range(stories, "stories"))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)


# --- dataset-trained fallback ------------------------------------------------------------------

def _toy_frames(count, seed, size=16):
    """Character k present = a bright square in quadrant k of colour channel k: separable."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((count, 3)) < 0.5).astype(np.int64)
    frames = np.full((count, size, size, 3), 40, np.uint8)
    half = size // 2
    for k, (row, col) in enumerate([(0, 0), (0, half), (half, 0)]):
        frames[labels[:, k] == 1, row:row + half, col:col + half, k] = 230
    return frames, labels


DOMAIN_TRAINING = dict(batch_size=16, learning_rate=3e-3, width=8, feature_dim=16, seed=0)


def test_frame_extractor_learns_the_characters_and_is_deterministic():
    frames, labels = _toy_frames(96, seed=0)
    held_out_frames, held_out_labels = _toy_frames(64, seed=1)
    extractor = train_frame_extractor(frames, labels, epochs=10, **DOMAIN_TRAINING)

    scores = character_f1_and_frame_accuracy(extractor.label_probabilities(held_out_frames),
                                             held_out_labels)
    assert scores["character_f1"] >= 0.95
    assert extractor.name == "fid_domain"
    features = extractor.features(held_out_frames)
    assert features.shape == (64, 16)

    again = train_frame_extractor(frames, labels, epochs=10, **DOMAIN_TRAINING)
    np.testing.assert_allclose(again.features(held_out_frames), features, atol=1e-5)
    assert again.identity["weights_sha256"] == extractor.identity["weights_sha256"]


def test_story_extractor_learns_frame_labels_and_gives_story_features():
    frames, labels = _toy_frames(240, seed=2)
    stories, story_labels = frames.reshape(48, 5, 16, 16, 3), labels.reshape(48, 5, 3)
    extractor = train_story_extractor(stories, story_labels, epochs=20,
                                      **{**DOMAIN_TRAINING, "batch_size": 8,
                                         "learning_rate": 5e-3})

    assert extractor.name == "fsd_domain"
    assert extractor.features(stories).shape == (48, 16)
    probabilities = extractor.label_probabilities(stories)
    assert probabilities.shape == (48, 5, 3)
    scores = character_f1_and_frame_accuracy(probabilities.reshape(-1, 3), labels)
    assert scores["character_f1"] >= 0.9
    with pytest.raises(ValueError, match="trained on stories"):
        extractor.features(stories[:, :4])


def test_domain_training_rejects_mismatched_labels():
    frames, labels = _toy_frames(8, seed=0)
    with pytest.raises(ValueError, match="8 frames but 7 label rows"):
        train_frame_extractor(frames, labels[:7], epochs=1, **DOMAIN_TRAINING)
    with pytest.raises(ValueError, match="0/1"):
        train_frame_extractor(frames, labels * 2, epochs=1, **DOMAIN_TRAINING)
