"""Image encoder: regional features and a global code per frame (DAMSM-style, AttnGAN).

Each backbone gives a grid of regional features (at 1/8 of the input size for compact and
vgg16: an 8x8 grid, R = 64 regions, for 64x64 frames; 17x17 for inception_v3) and a deeper map
that is average-pooled into the global code; two linear layers map them into the joint space of
size dim (AttnGAN's v = W f, v_bar = W_bar f_bar).

- "compact": a small CNN trained from scratch (CPU-friendly). It has no normalisation layers,
  so a frame's features do not depend on the rest of its batch (reals and fakes are encoded in
  separate batches) and training and inference behave the same.
- "vgg16": keras.applications.VGG16 (the main paper's choice, Sec. 4.2); regions from
  block4_conv3, global code from block5_pool. ImageNet weights come from a local file
  (`vgg16_weights`, the Keras no-top file `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` or
  a `.weights.h5` saved by Keras 3); nothing is downloaded. With weights, the VGG layers are
  frozen as in AttnGAN's DAMSM and only the projections learn; with vgg16_weights="" the network
  starts from random weights and is trained whole (the paper's offline mode trains the encoders
  from scratch with Eq. 6).
- "inception_v3": keras.applications.InceptionV3, the image encoder of AttnGAN's DAMSM and of
  the authors' code: frames resized (bilinear) to 299x299, regions from mixed7 (Mixed_6e in
  the TF-slim/PyTorch naming, 17x17x768), the global code from the top (mixed10, Mixed_7c,
  8x8x2048, average-pooled). ImageNet weights from a local file (`inception_v3_weights`, the
  Keras no-top file `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5` or a
  `.weights.h5`), frozen when given, as for vgg16. Its input is already in [-1, 1], the range
  Inception's preprocessing maps to.
"""
import os

import keras
from keras import ops

BACKBONES = ("compact", "vgg16", "inception_v3")
# keras.applications.vgg16.preprocess_input ("caffe" mode): BGR order, ImageNet channel means.
_VGG_BGR_MEAN = (103.939, 116.779, 123.68)
# keras.applications.InceptionV3's input side.
INCEPTION_SIZE = 299


def _compact_backbone(width: int) -> keras.Model:
    def conv(filters, kernel, strides, name):
        return keras.layers.Conv2D(filters, kernel, strides=strides, padding="same",
                                   activation="leaky_relu", name=name)

    images = keras.Input((None, None, 3), name="images")
    x = conv(width, 4, 2, "down_1")(images)
    x = conv(2 * width, 4, 2, "down_2")(x)
    x = conv(4 * width, 4, 2, "down_3")(x)
    regions = conv(4 * width, 3, 1, "regions")(x)
    x = conv(8 * width, 4, 2, "down_4")(regions)
    deep = conv(8 * width, 3, 1, "deep")(x)
    return keras.Model(images, [regions, deep], name="compact_backbone")


def _imagenet_backbone(network: keras.Model, name: str, weights_path: str, field: str,
                       weights_file: str, layers: tuple[str, str]) -> keras.Model:
    """`network` (the keras.applications network `name` without its top, random weights) with
    the ImageNet weights of the local file `weights_path` (config image_encoder.<field>; ""
    keeps them random and trainable, else they are frozen), cut to the outputs of `layers`:
    (the region map, the top map)."""
    if weights_path and not os.path.isfile(weights_path):
        raise FileNotFoundError(
            f"image_encoder.{field}: {weights_path} does not exist. Nothing is downloaded: give "
            f"the local path of the Keras ImageNet {name} no-top weights ({weights_file}), or "
            f"leave it empty to train {name} from scratch.")
    if weights_path:
        try:
            network.load_weights(weights_path)
        except (ValueError, OSError, KeyError) as error:
            raise ValueError(
                f"image_encoder.{field}: {weights_path} is not a {name} no-top weights file for "
                f"Keras ({type(error).__name__}: {error})") from error
    backbone = keras.Model(network.inputs, [network.get_layer(layer).output for layer in layers],
                           name=f"{field.removesuffix('_weights')}_backbone")
    backbone.trainable = not weights_path
    return backbone


def _vgg16_backbone(weights_path: str) -> keras.Model:
    return _imagenet_backbone(
        keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3)),
        "VGG-16", weights_path, "vgg16_weights",
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", ("block4_conv3", "block5_pool"))


def _inception_v3_backbone(weights_path: str) -> keras.Model:
    return _imagenet_backbone(
        keras.applications.InceptionV3(include_top=False, weights=None,
                                       input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3)),
        "Inception-v3", weights_path, "inception_v3_weights",
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", ("mixed7", "mixed10"))


class ImageEncoder(keras.Model):
    """images [N, H, W, 3] in [-1, 1] -> {"regions": [N, R, dim], "global": [N, dim]},
    R = (H / 8) * (W / 8), or 17 * 17 with inception_v3."""

    def __init__(self, backbone: str = "compact", dim: int = 128, width: int = 32,
                 vgg16_weights: str = "", inception_v3_weights: str = "", **kwargs):
        super().__init__(**kwargs)
        if backbone == "compact":
            self.backbone = _compact_backbone(width)
        elif backbone == "vgg16":
            self.backbone = _vgg16_backbone(vgg16_weights)
        elif backbone == "inception_v3":
            self.backbone = _inception_v3_backbone(inception_v3_weights)
        else:
            raise ValueError(f"image_encoder.backbone must be one of {BACKBONES}, "
                             f"got {backbone!r}")
        self.backbone_name = backbone
        self.region_projection = keras.layers.Dense(dim, name="region_projection")
        self.global_projection = keras.layers.Dense(dim, name="global_projection")

    def call(self, images, training=False):
        if self.backbone_name == "vgg16":
            pixels = (images + 1.0) * 127.5
            images = ops.flip(pixels, axis=-1) - ops.convert_to_tensor(_VGG_BGR_MEAN, pixels.dtype)
        elif self.backbone_name == "inception_v3":
            images = ops.image.resize(images, (INCEPTION_SIZE, INCEPTION_SIZE),
                                      interpolation="bilinear")
        region_map, deep_map = self.backbone(images, training=training)
        height, width, channels = region_map.shape[1:]
        regions = ops.reshape(region_map, (-1, height * width, channels))
        return {"regions": self.region_projection(regions),
                "global": self.global_projection(ops.mean(deep_map, axis=(1, 2)))}


def encode_story_frames(image_encoder: ImageEncoder, images, training=False) -> dict:
    """Encodes all frames of a batch of stories in one pass.

    images [B, T, H, W, 3] -> {"regions": [B, T, R, D], "global": [B, T, D],
    "story": [B, D]}; the story image feature is the mean of the frames' global features
    (main paper, Sec. 3.2).
    """
    frames = images.shape[1]
    encoded = image_encoder(ops.reshape(images, (-1, *images.shape[2:])), training=training)
    regions, global_ = encoded["regions"], encoded["global"]
    global_ = ops.reshape(global_, (-1, frames, global_.shape[-1]))
    return {"regions": ops.reshape(regions, (-1, frames, *regions.shape[1:])),
            "global": global_,
            "story": ops.mean(global_, axis=1)}
