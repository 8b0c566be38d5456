"""Reference-statistics cache: a hit only for exactly the same producing inputs."""
import hashlib
import json

import numpy as np
import pytest

from storyvis_tf.evaluation.statistics_cache import (FeatureStatistics, cache_key, fingerprint_path,
                                                     load_or_compute)

KEY_FIELDS = {"dataset": {"manifest_sha256": "ab12", "vocab_sha256": "cd34"}, "split": "test",
              "image_size": 64, "extractor": {"name": "inception_v3", "weights_sha256": "ef56"},
              "num_samples": 0, "code_version": "0.1.0"}


class _CountingCompute:
    """compute_fn that records how often it ran and returns statistics of fixed features."""

    def __init__(self, seed=0):
        self.calls = 0
        self.features = np.random.default_rng(seed).normal(size=(20, 4))

    def __call__(self):
        self.calls += 1
        return FeatureStatistics.from_features(self.features)


def test_second_call_with_the_same_key_is_a_hit(tmp_path):
    compute = _CountingCompute()
    first = load_or_compute(tmp_path, KEY_FIELDS, compute)
    second = load_or_compute(tmp_path, dict(KEY_FIELDS), compute)
    assert compute.calls == 1
    np.testing.assert_array_equal(second.mu, first.mu)
    np.testing.assert_array_equal(second.sigma, first.sigma)
    assert second.count == first.count == 20


@pytest.mark.parametrize("field, value", [
    ("dataset", {"manifest_sha256": "ab12", "vocab_sha256": "other"}),
    ("split", "val"),
    ("image_size", 128),
    ("extractor", {"name": "inception_v3", "weights_sha256": "changed"}),
    ("num_samples", 1000),
    ("code_version", "0.2.0"),
    ("extra_field", "anything"),
])
def test_any_key_change_is_a_miss(tmp_path, field, value):
    compute = _CountingCompute()
    load_or_compute(tmp_path, KEY_FIELDS, compute)
    load_or_compute(tmp_path, {**KEY_FIELDS, field: value}, compute)
    assert compute.calls == 2
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_key_fields_are_stored_beside_the_statistics(tmp_path):
    load_or_compute(tmp_path, KEY_FIELDS, _CountingCompute())
    key = cache_key(KEY_FIELDS)
    assert (tmp_path / f"{key}.npz").exists()
    assert json.loads((tmp_path / f"{key}.json").read_text()) == KEY_FIELDS


def test_key_is_independent_of_field_order():
    reordered = dict(reversed(list(KEY_FIELDS.items())))
    assert cache_key(reordered) == cache_key(KEY_FIELDS)


def test_a_key_without_a_required_field_is_refused(tmp_path):
    fields = {name: value for name, value in KEY_FIELDS.items() if name != "extractor"}
    with pytest.raises(ValueError, match="extractor"):
        load_or_compute(tmp_path, fields, _CountingCompute())


def test_non_json_key_values_are_refused(tmp_path):
    with pytest.raises(TypeError, match="plain JSON values"):
        load_or_compute(tmp_path, {**KEY_FIELDS, "split": {"test"}}, _CountingCompute())


def test_compute_fn_must_return_feature_statistics(tmp_path):
    with pytest.raises(TypeError, match="FeatureStatistics"):
        load_or_compute(tmp_path, KEY_FIELDS, lambda: (np.zeros(2), np.eye(2)))
    assert not list(tmp_path.glob("*.npz"))


def test_an_entry_renamed_to_another_key_is_refused(tmp_path):
    load_or_compute(tmp_path, KEY_FIELDS, _CountingCompute())
    other = {**KEY_FIELDS, "split": "val"}
    (tmp_path / f"{cache_key(KEY_FIELDS)}.npz").rename(tmp_path / f"{cache_key(other)}.npz")
    with pytest.raises(ValueError, match="renamed or edited"):
        load_or_compute(tmp_path, other, _CountingCompute())


def test_fingerprint_of_a_file_is_its_sha256(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"some weights")
    assert fingerprint_path(path) == hashlib.sha256(b"some weights").hexdigest()


def test_fingerprint_of_a_directory_changes_with_any_file(tmp_path):
    (tmp_path / "variables").mkdir()
    (tmp_path / "saved_model.pb").write_bytes(b"graph")
    (tmp_path / "variables" / "variables.data").write_bytes(b"values")
    before = fingerprint_path(tmp_path)
    (tmp_path / "variables" / "variables.data").write_bytes(b"other values")
    assert fingerprint_path(tmp_path) != before
