"""Serving an export directory over TensorFlow Serving's REST API, with a story page at `/`."""
