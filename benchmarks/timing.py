"""Timing shared by the benchmarks: medians over repeats, wall and process-CPU time (on a shared
machine the CPU time moves less than wall time; both are reported)."""
import statistics
import time

import tensorflow as tf


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


def matmul_flops_per_second(size: int, warmup: int, repeats: int) -> float:
    """FLOP/s of a float32 [size, size] x [size, size] matmul (tf.function, median of
    `repeats`): the machine's dense-arithmetic reference the benchmarks' ratios divide by."""
    a = tf.random.stateless_normal((size, size), seed=(0, 0))
    b = tf.random.stateless_normal((size, size), seed=(0, 1))
    matmul = tf.function(lambda: tf.reduce_sum(a @ b))   # the sum forces the product to run
    return 2 * size ** 3 / timed(lambda: matmul().numpy(), repeats, warmup)["median_s"]
