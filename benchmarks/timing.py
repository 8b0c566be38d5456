"""Timing shared by the benchmarks: medians over repeats, wall and process-CPU time (on a shared
machine the CPU time moves less than wall time; both are reported)."""
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
