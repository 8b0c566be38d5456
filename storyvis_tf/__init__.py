"""storyvis_tf: story visualization GANs in TensorFlow 2 / Keras 3."""

__version__ = "0.1.0"
