"""Feature extractors trained on the dataset's own real frames: the fallback when the user has no
Inception-v3 / R(2+1)D-18 weights.

Fréchet distances over these features are reported as `fid_domain` and `fsd_domain`, never as
FID / FSD: they compare runs on the same dataset scored with the same trained extractor (its
`identity` goes into the reference-statistics cache key), not published numbers.

- Frame network (`fid_domain`, character F1 / frame accuracy): a small CNN trained with BCE as
  the multi-label character classifier, the role the field gives a fine-tuned Inception-v3. Its
  penultimate layer is the frame feature; its sigmoid outputs are the character predictions.
- Story network (`fsd_domain`): the frame network's trunk architecture (trained afresh, end to
  end) on each frame, then a temporal convolution across the story's frames, trained to predict
  every frame's labels and the story's label union; its time-pooled features are the story
  feature, which therefore sees each frame in the context of its neighbours (consistency), as
  R(2+1)D features do.

Training is short and deterministic for a given seed (`keras.utils.set_random_seed`, a seeded
shuffle). Pixels may be uint8 or float in [-1, 1]; they are converted one batch at a time.
"""
import dataclasses
import hashlib

import keras
import numpy as np

from storyvis_tf.evaluation.extractors import batched_features, to_signed_unit_range

FID_DOMAIN = "fid_domain"
FSD_DOMAIN = "fsd_domain"
_TRUNK_WIDTH_MULTIPLIERS = (1, 2, 4, 8)  # four stride-2 convs: 64 x 64 frames -> 4 x 4


@dataclasses.dataclass(frozen=True)
class DomainExtractor:
    """A trained domain network.

    Attributes:
      name: `fid_domain` (frames `[N, H, W, 3]`) or `fsd_domain` (stories `[B, T, H, W, 3]`).
      feature_model: pixels -> features `[N, feature_dim]`.
      label_model: pixels -> character probabilities: `[N, C]` for frames; `[B, T, C]` per frame
        of each story for stories.
      batch_size: frames or stories per forward pass.
    """
    name: str
    feature_model: keras.Model
    label_model: keras.Model
    batch_size: int

    def features(self, pixels) -> np.ndarray:
        """Features `[N, feature_dim]` (float32) of frames or stories."""
        return self._run(self.feature_model, pixels)

    def label_probabilities(self, pixels) -> np.ndarray:
        """Sigmoid character probabilities (see `label_model`)."""
        return self._run(self.label_model, pixels)

    @property
    def identity(self) -> dict:
        """Name and sha256 of the trained weights: the extractor part of a cache key."""
        digest = hashlib.sha256()
        for weight in self.feature_model.get_weights():
            digest.update(str(weight.shape).encode() + np.ascontiguousarray(weight).tobytes())
        return {"name": self.name, "weights_sha256": digest.hexdigest()}

    def _run(self, model: keras.Model, pixels) -> np.ndarray:
        what, layout = (("frames", "[N, H, W, 3]") if self.name == FID_DOMAIN
                        else ("stories", "[B, T, H, W, 3]"))
        if np.shape(pixels)[1:] != tuple(model.inputs[0].shape[1:]):
            raise ValueError(f"{self.name} was trained on {what} {layout} of shape "
                             f"{tuple(model.inputs[0].shape[1:])} each, got {np.shape(pixels)}")
        return batched_features(lambda batch: np.asarray(model.predict_on_batch(batch), np.float32),
                                pixels, self.batch_size, what)


def train_frame_extractor(frames, labels, *, epochs: int, batch_size: int, learning_rate: float,
                          width: int, feature_dim: int, seed: int) -> DomainExtractor:
    """Trains the frame network as a multi-label character classifier (`fid_domain`).

    Args:
      frames: `[N, H, W, 3]` real frames, uint8 or float in [-1, 1].
      labels: `[N, C]` binary character labels.
      epochs, batch_size, learning_rate: Adam training of the BCE loss.
      width: channels of the first conv (doubling over four stride-2 convs).
      feature_dim: size of the penultimate (feature) layer.
      seed: seeds initialisation and shuffling (through Keras' global seed).
    """
    labels = _binary_labels(labels, frames, "frames")
    if np.ndim(frames) != 4 or labels.ndim != 2:
        raise ValueError(f"frames must be [N, H, W, 3] with labels [N, C], got shapes "
                         f"{np.shape(frames)} and {labels.shape}")
    keras.utils.set_random_seed(seed)
    trunk = _frame_trunk(np.shape(frames)[1:], width, feature_dim)
    probabilities = keras.layers.Dense(labels.shape[-1], activation="sigmoid",
                                       name="character_probabilities")(trunk.output)
    classifier = keras.Model(trunk.input, probabilities, name="domain_frame_classifier")
    _fit(classifier, frames, labels, "frames", epochs, batch_size, learning_rate, seed)
    return DomainExtractor(FID_DOMAIN, feature_model=trunk, label_model=classifier,
                           batch_size=batch_size)


def train_story_extractor(stories, labels, *, epochs: int, batch_size: int,
                          learning_rate: float, width: int, feature_dim: int,
                          seed: int) -> DomainExtractor:
    """Trains the story network on per-frame and story-union character labels (`fsd_domain`).

    Args:
      stories: `[B, T, H, W, 3]` real stories, uint8 or float in [-1, 1].
      labels: `[B, T, C]` binary character labels of each frame.
      epochs, batch_size, learning_rate, width, feature_dim, seed: as `train_frame_extractor`.
    """
    labels = _binary_labels(labels, stories, "stories")
    if np.ndim(stories) != 5 or labels.shape[:2] != np.shape(stories)[:2] or labels.ndim != 3:
        raise ValueError(f"stories must be [B, T, H, W, 3] with labels [B, T, C], got shapes "
                         f"{np.shape(stories)} and {labels.shape}")
    keras.utils.set_random_seed(seed)
    num_characters = labels.shape[-1]
    story_input = keras.Input(np.shape(stories)[1:], name="stories")
    frame_features = keras.layers.TimeDistributed(
        _frame_trunk(np.shape(stories)[2:], width, feature_dim))(story_input)
    in_context = keras.layers.Conv1D(feature_dim, 3, padding="same", activation="relu",
                                     name="temporal")(frame_features)
    story_features = keras.layers.GlobalAveragePooling1D(name="story_features")(in_context)
    frame_labels = keras.layers.Dense(num_characters, activation="sigmoid",
                                      name="frame_labels")(in_context)
    story_labels = keras.layers.Dense(num_characters, activation="sigmoid",
                                      name="story_labels")(story_features)
    network = keras.Model(story_input, {"frame_labels": frame_labels, "story_labels": story_labels},
                          name="domain_story_network")
    targets = {"frame_labels": labels, "story_labels": labels.max(axis=1)}
    _fit(network, stories, targets, "stories", epochs, batch_size, learning_rate, seed)
    return DomainExtractor(FSD_DOMAIN,
                           feature_model=keras.Model(story_input, story_features,
                                                     name="domain_story_features"),
                           label_model=keras.Model(story_input, frame_labels,
                                                   name="domain_story_frame_labels"),
                           batch_size=batch_size)


class _ShuffledBatches(keras.utils.PyDataset):
    """(pixels in [-1, 1], targets) batches in an order reshuffled each epoch from `seed`; uint8
    pixels are converted per batch."""

    def __init__(self, pixels, targets, batch_size: int, seed: int, what: str):
        super().__init__()
        self._pixels, self._targets, self._what = pixels, targets, what
        self._batch_size = batch_size
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(pixels))

    def __len__(self) -> int:
        return -(-len(self._pixels) // self._batch_size)

    def __getitem__(self, index: int):
        rows = np.sort(self._order[index * self._batch_size:(index + 1) * self._batch_size])
        targets = ({name: value[rows] for name, value in self._targets.items()}
                   if isinstance(self._targets, dict) else self._targets[rows])
        return to_signed_unit_range(self._pixels[rows], self._what), targets

    def on_epoch_end(self) -> None:
        self._order = self._rng.permutation(len(self._pixels))


def _frame_trunk(frame_shape: tuple, width: int, feature_dim: int) -> keras.Model:
    """Frames -> features: four stride-2 3x3 ReLU convs, global average pool, dense ReLU."""
    frames = keras.Input(frame_shape, name="frames")
    x = frames
    for multiplier in _TRUNK_WIDTH_MULTIPLIERS:
        x = keras.layers.Conv2D(width * multiplier, 3, strides=2, padding="same",
                                activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    features = keras.layers.Dense(feature_dim, activation="relu", name="frame_features")(x)
    return keras.Model(frames, features, name="domain_frame_trunk")


def _fit(model: keras.Model, pixels, targets, what: str, epochs: int, batch_size: int,
         learning_rate: float, seed: int) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    model.fit(_ShuffledBatches(pixels, targets, batch_size, seed, what), epochs=epochs, verbose=0)


def _binary_labels(labels, pixels, what: str) -> np.ndarray:
    labels = np.asarray(labels)
    if len(labels) != len(pixels):
        raise ValueError(f"{len(pixels)} {what} but {len(labels)} label rows")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"character labels of the {what} must be 0/1")
    return labels.astype(np.float32)
