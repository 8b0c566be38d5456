"""DynamicBatcher: queued requests share one call up to max_batch_size, each gets its own rows
back, the queue is bounded (503), and a model error reaches every request of its batch."""
import threading
import time

import numpy as np
import pytest

from storyvis_tf.serving.batching import BatchingOptions, DynamicBatcher
from storyvis_tf.serving.errors import ServingError


class BlockingModel:
    """run_batch that records each batch's rows and waits for `release` before answering
    (so requests pile up in the queue meanwhile); doubles its input."""

    def __init__(self, fail: bool = False):
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.started = threading.Event()
        self.fail = fail

    def __call__(self, inputs):
        self.batches.append(inputs["x"].tolist())
        self.started.set()
        self.release.wait(10)
        if self.fail:
            raise ValueError("model failed")
        return {"y": inputs["x"] * 2}


def request(batcher, *values):
    return batcher.submit({"x": np.array(values)}, len(values))


def blocked_batcher(options: BatchingOptions, model: BlockingModel):
    """A batcher whose worker is busy with a first request [0] until model.release."""
    batcher = DynamicBatcher(model, options)
    first = request(batcher, 0)
    assert model.started.wait(10)
    return batcher, first


def test_queued_requests_are_batched_up_to_max_batch_size():
    model = BlockingModel()
    batcher, first = blocked_batcher(BatchingOptions(max_batch_size=4), model)
    futures = [request(batcher, 1, 2), request(batcher, 3), request(batcher, 4, 5),
               request(batcher, 6)]
    model.release.set()
    assert [f.result(10)["y"].tolist() for f in [first, *futures]] == [
        [0], [2, 4], [6], [8, 10], [12]]
    batcher.close()
    assert model.batches == [[0], [1, 2, 3], [4, 5, 6]]   # [4, 5] does not fit after [1, 2, 3]


def test_without_batching_every_request_runs_alone():
    model = BlockingModel()
    batcher, first = blocked_batcher(BatchingOptions(enabled=False, max_batch_size=4), model)
    futures = [request(batcher, 1, 2), request(batcher, 3)]
    model.release.set()
    assert [f.result(10)["y"].tolist() for f in futures] == [[2, 4], [6]]
    batcher.close()
    assert model.batches == [[0], [1, 2], [3]]


def test_a_batch_waits_batch_timeout_for_more_requests():
    model = BlockingModel()
    model.release.set()
    batcher = DynamicBatcher(model, BatchingOptions(max_batch_size=4, batch_timeout_s=0.5))
    start = time.monotonic()
    futures = [request(batcher, 1)]
    time.sleep(0.1)
    futures.append(request(batcher, 2))
    assert [f.result(10)["y"].tolist() for f in futures] == [[2], [4]]
    assert model.batches == [[1, 2]]
    assert time.monotonic() - start >= 0.5
    batcher.close()


def test_a_full_queue_is_refused_with_503():
    model = BlockingModel()
    batcher, first = blocked_batcher(BatchingOptions(max_batch_size=2, max_enqueued_batches=2),
                                     model)
    queued = [request(batcher, 1, 2), request(batcher, 3), request(batcher, 4)]
    with pytest.raises(ServingError, match="batch scheduling queue .* is full") as refused:
        request(batcher, 5)
    assert refused.value.http_status == 503
    model.release.set()
    assert [f.result(10)["y"].tolist() for f in queued] == [[2, 4], [6], [8]]
    assert request(batcher, 5).result(10)["y"].tolist() == [10]   # room again
    batcher.close()


def test_a_request_larger_than_max_batch_size_is_refused():
    batcher = DynamicBatcher(BlockingModel(), BatchingOptions(max_batch_size=2))
    with pytest.raises(ServingError, match="Task size 3 is larger than maximum batch size 2"):
        request(batcher, 1, 2, 3)
    batcher.close()


def test_a_model_error_reaches_every_request_of_the_batch():
    model = BlockingModel(fail=True)
    batcher, first = blocked_batcher(BatchingOptions(max_batch_size=4), model)
    futures = [request(batcher, 1), request(batcher, 2)]
    model.release.set()
    for future in [first, *futures]:
        with pytest.raises(ValueError, match="model failed"):
            future.result(10)
    batcher.close()


def test_close_finishes_the_queued_requests_then_refuses():
    model = BlockingModel()
    batcher, first = blocked_batcher(BatchingOptions(max_batch_size=1), model)
    queued = request(batcher, 1)
    model.release.set()
    batcher.close()
    assert queued.result(0)["y"].tolist() == [2]
    with pytest.raises(ServingError, match="being unloaded") as refused:
        request(batcher, 2)
    assert refused.value.http_status == 503
