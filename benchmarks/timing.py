"""Timing shared by the benchmarks: medians over repeats, wall and process-CPU time (on a shared
machine the CPU time moves less than wall time; both are reported), and the dense-matmul
reference. The frameworks are imported by the reference that runs in each, not with this
module: a JAX-only machine has no TensorFlow, and a TensorFlow-only one may have no JAX."""
import statistics
import time


def timed(call, repeats: int, warmup: int = 0) -> dict:
    """Median wall and process-CPU seconds of `repeats` calls of `call()` after `warmup` calls."""
    for _ in range(warmup):
        call()
    seconds, cpu_seconds = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        call()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    return {"median_s": statistics.median(seconds), "runs_s": seconds,
            "median_process_cpu_s": statistics.median(cpu_seconds)}


class Stopwatch:
    """Wall and process-CPU seconds (`wall`, `cpu`) that count only between `start()` and
    `stop()`: a benchmark stops it while it scores a checkpoint."""

    def __init__(self):
        self.wall = self.cpu = 0.0
        self._started = None

    def start(self):
        self._started = (time.perf_counter(), time.process_time())

    def stop(self):
        wall, cpu = self._started
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self._started = None


def matmul_flops_per_second(size: int, warmup: int, repeats: int,
                            framework: str = "tensorflow", dtype: str = "float32") -> float:
    """FLOP/s of a [size, size] x [size, size] matmul in `dtype` (median of `repeats` after
    `warmup`), compiled by `framework`: "tensorflow" (tf.function, float32 only) or "jax"
    (jax.jit; bfloat16 where the measured step computes in it, as on a GPU). The machine's
    dense-arithmetic reference the benchmarks' ratios divide by."""
    matmuls = {"tensorflow": _tensorflow_matmul, "jax": _jax_matmul}
    if framework not in matmuls:
        raise ValueError(f"unknown framework {framework!r}: expected one of {list(matmuls)}")
    return 2 * size ** 3 / timed(matmuls[framework](size, dtype), repeats, warmup)["median_s"]


def _tensorflow_matmul(size: int, dtype: str):
    """A call running the TensorFlow matmul and waiting for it."""
    import tensorflow as tf

    if dtype != "float32":
        raise ValueError(f"the TensorFlow reference matmul is float32, not {dtype}")
    a = tf.random.stateless_normal((size, size), seed=(0, 0))
    b = tf.random.stateless_normal((size, size), seed=(0, 1))
    matmul = tf.function(lambda: tf.reduce_sum(a @ b))   # the sum forces the product to run
    return lambda: matmul().numpy()


def _jax_matmul(size: int, dtype: str):
    """A call running the JAX matmul and waiting for it."""
    import jax

    a = jax.random.normal(jax.random.key(0), (size, size), dtype)
    b = jax.random.normal(jax.random.key(1), (size, size), dtype)
    # Arguments, not closed-over constants, which XLA would fold at compile time.
    matmul = jax.jit(lambda a, b: jax.numpy.sum(a @ b))
    return lambda: matmul(a, b).block_until_ready()
