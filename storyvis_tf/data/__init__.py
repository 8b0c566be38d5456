"""Datasets: readers of the public formats, the embedded synthetic dataset, Beam preprocessing,
the TFRecord schema and the tf.data loader."""
