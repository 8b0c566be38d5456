"""Dynamic batching with a bounded queue, as TensorFlow Serving's batching session does.

`DynamicBatcher(run_batch, options).submit(inputs, size)` queues one request of `size` rows
(`inputs`: name -> array [size, ...]) and returns a `concurrent.futures.Future` of that request's
outputs (name -> array [size, ...]). `options.num_batch_threads` worker threads each take the
oldest queued requests, concatenate their rows along axis 0 into one batch of at most
`max_batch_size` rows, call `run_batch` on it once and hand every request its own slice.

A batch starts when it is full or `batch_timeout_s` after its first request was queued; with the
default timeout 0 it starts at once with whatever is queued, so batches form from the requests
that arrive while the previous batch runs (under load) and a lone request waits for nothing.
Without batching (`enabled=False`) every batch is one request, queued the same way.

The queue holds at most max_enqueued_batches * max_batch_size rows: past that, `submit` raises
UNAVAILABLE (HTTP 503) with TF Serving's message instead of letting the queue, and the memory
behind it, grow without limit.
"""
import collections
import concurrent.futures
import dataclasses
import threading
import time
from typing import Callable

import numpy as np

from storyvis_tf.serving.errors import ServingError, invalid_argument

Arrays = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    """TF Serving's batching parameters (its --batching_parameters_file fields, in seconds)."""

    enabled: bool = True
    max_batch_size: int = 16
    batch_timeout_s: float = 0.0
    max_enqueued_batches: int = 32
    num_batch_threads: int = 1

    def __post_init__(self):
        for field in ("max_batch_size", "max_enqueued_batches", "num_batch_threads"):
            if getattr(self, field) < 1:
                raise ValueError(f"batching {field} must be >= 1, got {getattr(self, field)}")
        if self.batch_timeout_s < 0:
            raise ValueError(f"batching batch_timeout_s must be >= 0, got {self.batch_timeout_s}")

    @property
    def max_enqueued_rows(self) -> int:
        return self.max_enqueued_batches * self.max_batch_size


@dataclasses.dataclass
class _Request:
    inputs: Arrays
    size: int
    future: concurrent.futures.Future
    queued_at: float


class DynamicBatcher:
    """Batches concurrent requests for `run_batch` (see the module docstring)."""

    def __init__(self, run_batch: Callable[[Arrays], Arrays], options: BatchingOptions,
                 name: str = "batcher"):
        self._run_batch = run_batch
        self._options = options
        self._queue: collections.deque[_Request] = collections.deque()
        self._queued_rows = 0
        self._closed = False
        self._changed = threading.Condition()
        self._workers = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(options.num_batch_threads)]
        for worker in self._workers:
            worker.start()

    def submit(self, inputs: Arrays, size: int) -> concurrent.futures.Future:
        """Queues a request of `size` rows; its Future gives its outputs or a ServingError."""
        if size > self._options.max_batch_size:
            raise invalid_argument(f"Task size {size} is larger than maximum batch size "
                                   f"{self._options.max_batch_size}")
        request = _Request(inputs, size, concurrent.futures.Future(), time.monotonic())
        with self._changed:
            if self._closed:
                raise ServingError("UNAVAILABLE", "this model version is being unloaded; retry "
                                                  "to reach the version that replaces it")
            if self._queued_rows + size > self._options.max_enqueued_rows:
                raise ServingError(
                    "UNAVAILABLE", "The batch scheduling queue to which this task was submitted "
                    f"is full ({self._queued_rows} rows queued, at most "
                    f"{self._options.max_enqueued_rows} = max_enqueued_batches x max_batch_size)")
            self._queue.append(request)
            self._queued_rows += size
            self._changed.notify_all()
        return request.future

    def close(self) -> None:
        """Stops taking requests; the workers finish the queued ones, then exit."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        for worker in self._workers:
            worker.join()

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._run(batch)

    def _next_batch(self) -> list[_Request] | None:
        """Waits for a batch to be due (module docstring) and takes it off the queue; None once
        the batcher is closed and drained."""
        options = self._options
        with self._changed:
            while not self._queue and not self._closed:
                self._changed.wait()
            if not self._queue:
                return None
            if options.enabled:
                deadline = self._queue[0].queued_at + options.batch_timeout_s
                while (self._queue and self._queued_rows < options.max_batch_size
                       and not self._closed and (left := deadline - time.monotonic()) > 0):
                    self._changed.wait(left)
                if not self._queue:   # another worker took them while this one waited
                    return []
            batch, rows = [], 0
            while self._queue and rows + self._queue[0].size <= options.max_batch_size:
                request = self._queue.popleft()
                self._queued_rows -= request.size
                if request.future.set_running_or_notify_cancel():   # False: the client left
                    batch.append(request)
                    rows += request.size
                if not options.enabled:
                    break
            return batch

    def _run(self, batch: list[_Request]) -> None:
        if not batch:
            return
        try:
            outputs = self._run_batch({name: np.concatenate([r.inputs[name] for r in batch])
                                       for name in batch[0].inputs})
        except Exception as error:   # every request of the batch gets the model's error
            for request in batch:
                request.future.set_exception(error)
            return
        start = 0
        for request in batch:
            request.future.set_result({name: array[start:start + request.size]
                                       for name, array in outputs.items()})
            start += request.size
