"""Dataset readers by name (the `--dataset` flag of pipelines.preprocess)."""
import importlib

from storyvis_tf.data.readers.base import StoryReader

_READERS = {
    "synthetic": ("storyvis_tf.data.readers.synthetic", "SyntheticReader"),
    "pororo": ("storyvis_tf.data.readers.pororo", "PororoReader"),
    "flintstones": ("storyvis_tf.data.readers.flintstones", "FlintstonesReader"),
    "clevr": ("storyvis_tf.data.readers.clevr", "ClevrReader"),
    "abstract": ("storyvis_tf.data.readers.abstract_scenes", "AbstractScenesReader"),
}
DATASETS = tuple(_READERS)


def reader_class(dataset: str) -> type[StoryReader]:
    if dataset not in _READERS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    module, name = _READERS[dataset]
    return getattr(importlib.import_module(module), name)


def make_reader(dataset: str, data_dir: str, **kwargs) -> StoryReader:
    """Builds (and so validates) the reader of `dataset` over `data_dir`."""
    return reader_class(dataset)(data_dir, **kwargs)
