"""R(2+1)D-18 (Tran et al. 2018, torchvision's `r2plus1d_18`) in Keras: the story feature
extractor of FSD.

The field's FSD protocol (DATASETS.md §5): the T = 5 frames of a story at the model's resolution
(64 x 64), in [-1, 1] with no other normalisation (not the Kinetics mean/std torchvision's own
transforms apply), through the Kinetics-400 R(2+1)D-18; the 512-d global average pool of
`layer4` is the story feature. Here the input is channels-last `[B, T, H, W, 3]` (torch:
`[B, 3, T, H, W]`).

The architecture follows torchvision exactly, so its weights convert one to one:
- stem: 1x7x7 conv 3 -> 45 (stride 1,2,2), BN, ReLU, 3x1x1 conv 45 -> 64, BN, ReLU;
- four stages (64, 128, 256, 512 channels) of two BasicBlocks; the first block of stages 2-4
  strides by 2 in time AND space and has a 1x1x1 stride-2 projection shortcut;
- each (2+1)D convolution is a 1x3x3 spatial conv to `midplanes`, BN, ReLU, then a 3x1x1
  temporal conv, with midplanes = (in*out*3*3*3) // (in*3*3 + 3*out) computed once per block from
  the block's (in, out) and used by both of its convolutions (torchvision's BasicBlock);
- torch's symmetric zero padding is reproduced with explicit ZeroPadding3D + 'valid' convs
  (Keras 'same' pads strided convs asymmetrically); BatchNorm epsilon 1e-5 as in torch.
Keras layer names are the torchvision module paths (`layer2.0.conv1.0.3`), which is what
`assign_torch_state_dict` relies on.

Converting torchvision's weights (where torch is installed):

    import numpy as np, torchvision
    net = torchvision.models.video.r2plus1d_18(weights="KINETICS400_V1")
    np.savez("r2plus1d_18.npz", **{k: v.numpy() for k, v in net.state_dict().items()})

then, here: `convert_torchvision_weights("r2plus1d_18.npz", "r2plus1d_18.weights.h5")`, and point
config `eval.r2plus1d_weights` at the `.weights.h5` file.
"""
import os

import keras
import numpy as np

from storyvis_tf.evaluation.extractors import batched_features, build_with_weights
from storyvis_tf.evaluation.statistics_cache import fingerprint_path

STAGE_CHANNELS = (64, 128, 256, 512)
STAGE_STRIDES = (1, 2, 2, 2)
BLOCKS_PER_STAGE = 2
FEATURE_DIM = 512
_BATCH_NORM_EPSILON = 1e-5  # torch.nn.BatchNorm3d's default
# torch Conv3d kernels are [out, in, kT, kH, kW]; Keras Conv3D kernels [kT, kH, kW, in, out].
_TORCH_TO_KERAS_KERNEL = (2, 3, 4, 1, 0)
# torch BatchNorm parameter/buffer names, in the order of Keras BatchNormalization's variables.
_TORCH_BATCH_NORM_NAMES = ("weight", "bias", "running_mean", "running_var")
# Entries of torchvision's state dict with no counterpart in the feature trunk.
_IGNORED_SUFFIXES = (".num_batches_tracked",)
_IGNORED_KEYS = ("fc.weight", "fc.bias")


def midplanes(in_planes: int, out_planes: int) -> int:
    """Channels between the spatial and the temporal conv of a (2+1)D block: the count that
    gives it the parameters of a full 3x3x3 conv (Tran et al. 2018, Sec. 3.5; torchvision)."""
    return (in_planes * out_planes * 3 * 3 * 3) // (in_planes * 3 * 3 + 3 * out_planes)


def build_r2plus1d_18(name: str = "r2plus1d_18") -> keras.Model:
    """The R(2+1)D-18 trunk: stories `[B, T, H, W, 3]` -> pooled `layer4` features `[B, 512]`.

    31,300,125 parameters (torchvision's 31,505,325 less the 400-way Kinetics classifier).
    """
    stories = keras.Input((None, None, None, 3), name="stories")
    x = _conv(stories, 45, (1, 7, 7), (1, 2, 2), (0, 3, 3), "stem.0")
    x = keras.layers.ReLU()(_batch_norm(x, "stem.1"))
    x = _conv(x, 64, (3, 1, 1), (1, 1, 1), (1, 0, 0), "stem.3")
    x = keras.layers.ReLU()(_batch_norm(x, "stem.4"))
    in_planes = 64
    for stage, (planes, stride) in enumerate(zip(STAGE_CHANNELS, STAGE_STRIDES), start=1):
        for block in range(BLOCKS_PER_STAGE):
            x = _basic_block(x, in_planes, planes, stride if block == 0 else 1,
                             f"layer{stage}.{block}")
            in_planes = planes
    features = keras.layers.GlobalAveragePooling3D(name="avgpool")(x)
    return keras.Model(stories, features, name=name)


def assign_torch_state_dict(model: keras.Model, state_dict: dict) -> None:
    """Copies a torchvision `r2plus1d_18` state dict (names -> numpy arrays) into `model`.

    Every conv and BatchNorm of the trunk must be present with torchvision's shape; the
    classifier (`fc.*`) and `num_batches_tracked` counters are ignored, anything else is an
    error. Nothing is assigned unless the whole dict matches.
    """
    targets = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv3D):
            targets[f"{layer.name}.weight"] = (layer.kernel, _TORCH_TO_KERAS_KERNEL)
        elif isinstance(layer, keras.layers.BatchNormalization):
            variables = (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance)
            for torch_name, variable in zip(_TORCH_BATCH_NORM_NAMES, variables):
                targets[f"{layer.name}.{torch_name}"] = (variable, None)
    given = {key for key in state_dict
             if key not in _IGNORED_KEYS and not key.endswith(_IGNORED_SUFFIXES)}
    missing, unexpected = sorted(targets.keys() - given), sorted(given - targets.keys())
    if missing or unexpected:
        raise ValueError(f"not a torchvision r2plus1d_18 state dict: missing "
                         f"{_first_names(missing)}, unexpected {_first_names(unexpected)}")
    values = []
    for key, (variable, axes) in targets.items():
        value = np.asarray(state_dict[key], dtype=np.float32)
        value = value.transpose(axes) if axes else value
        if value.shape != tuple(variable.shape):
            raise ValueError(f"state dict entry {key} has shape {np.shape(state_dict[key])}, "
                             f"R(2+1)D-18 needs {tuple(variable.shape)} after conversion")
        values.append((variable, value))
    for variable, value in values:
        variable.assign(value)


def convert_torchvision_weights(state_dict_npz: str, weights_path: str) -> None:
    """Writes the Keras `.weights.h5` of a torchvision state dict saved with `np.savez`."""
    model = build_r2plus1d_18()
    with np.load(state_dict_npz) as state_dict:
        assign_torch_state_dict(model, dict(state_dict))
    model.save_weights(weights_path)


class R2Plus1DFeatures:
    """Stories `[B, T, H, W, 3]` in [-1, 1] (or uint8) -> R(2+1)D-18 features `[B, 512]`.

    Args:
      weights: local `.weights.h5` of `build_r2plus1d_18()` (see the module docstring for the
        conversion from torchvision); config `eval.r2plus1d_weights`.
      batch_size: stories per forward pass (throughput only; config `eval.batch_size`).

    Attributes:
      name: "r2plus1d_18".
      identity: JSON-able dict of the extractor name, weights path and sha256, for cache keys.
    """

    name = "r2plus1d_18"

    def __init__(self, weights: str, *, batch_size: int = 32):
        if not weights:
            raise ValueError("no R(2+1)D-18 weights given (config eval.r2plus1d_weights): FSD "
                             "needs a local .weights.h5 converted from torchvision's r2plus1d_18;"
                             " without one, report fsd_domain instead")
        self._model = build_with_weights(build_r2plus1d_18, weights,
                                         "R(2+1)D-18 (storyvis_tf.evaluation.r2plus1d)")
        self._batch_size = batch_size
        self.identity = {"name": self.name, "weights": os.fspath(weights),
                         "weights_sha256": fingerprint_path(weights)}

    def __call__(self, stories) -> np.ndarray:
        """Features `[B, 512]` (float32) of stories `[B, T, H, W, 3]`, used at their resolution."""
        if np.ndim(stories) != 5 or np.shape(stories)[-1] != 3:
            raise ValueError(f"stories must be [B, T, H, W, 3], got shape {np.shape(stories)}")
        return batched_features(
            lambda batch: np.asarray(self._model.predict_on_batch(batch), np.float32),
            stories, self._batch_size, "stories")


def _first_names(names: list[str], shown: int = 5) -> str:
    return f"{names[:shown]}{' ...' if len(names) > shown else ''} ({len(names)} in all)"


def _conv(x, filters: int, kernel: tuple, strides: tuple, padding: tuple, name: str):
    """torch Conv3d(bias=False) with symmetric zero padding."""
    if any(padding):
        x = keras.layers.ZeroPadding3D([(p, p) for p in padding], name=f"{name}.pad")(x)
    return keras.layers.Conv3D(filters, kernel, strides=strides, padding="valid", use_bias=False,
                               name=name)(x)


def _batch_norm(x, name: str):
    return keras.layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, momentum=0.9, name=name)(x)


def _conv_2plus1d(x, out_planes: int, mid_planes: int, stride: int, name: str):
    """torchvision's Conv2Plus1D: 1x3x3 spatial conv, BN, ReLU, 3x1x1 temporal conv."""
    x = _conv(x, mid_planes, (1, 3, 3), (1, stride, stride), (0, 1, 1), f"{name}.0")
    x = keras.layers.ReLU()(_batch_norm(x, f"{name}.1"))
    return _conv(x, out_planes, (3, 1, 1), (stride, 1, 1), (1, 0, 0), f"{name}.3")


def _basic_block(x, in_planes: int, planes: int, stride: int, name: str):
    """torchvision's BasicBlock with (2+1)D convs; both convs use the block's one midplanes."""
    mid_planes = midplanes(in_planes, planes)
    y = _conv_2plus1d(x, planes, mid_planes, stride, f"{name}.conv1.0")
    y = keras.layers.ReLU()(_batch_norm(y, f"{name}.conv1.1"))
    y = _batch_norm(_conv_2plus1d(y, planes, mid_planes, 1, f"{name}.conv2.0"), f"{name}.conv2.1")
    shortcut = x
    if stride != 1 or in_planes != planes:
        shortcut = _conv(x, planes, (1, 1, 1), (stride, stride, stride), (0, 0, 0),
                         f"{name}.downsample.0")
        shortcut = _batch_norm(shortcut, f"{name}.downsample.1")
    return keras.layers.ReLU()(keras.layers.Add()([y, shortcut]))
