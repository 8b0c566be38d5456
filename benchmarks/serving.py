"""pipelines.serve under load, on 127.0.0.1 only: latency, throughput with and without dynamic
batching, memory, and the server's overhead over calling the SavedModel in this process.

  python -m benchmarks.serving [--config=configs/default.py] [--clients=200] \\
      [--requests_per_client=1] [--latency_requests=30] [--max_batch_size=16] \\
      [--output=benchmarks/results/serving.json]

A generator of --config, freshly initialised (the cost does not depend on the weights), is
exported with a vocabulary of the synthetic test stories, whose sentences every request sends
(one story per request). Then, in this order:
(a) batch-1 latency: --latency_requests sequential requests to the server (batching on, the
    default flags) interleaved one for one with the same call of the SavedModel's signature in
    this process (tf.saved_model.load, both outputs to NumPy), so both see the same machine load;
    p50 / p99 of each, and overhead = server p50 / in-process p50 - 1 (goal <= 0.10). The server
    time is the whole HTTP round trip: JSON in, checks, queue, model, JSON out (the images as
    numbers and as PNG base64), until the client has read the body. On a shared machine the
    wall times move with other load, so the CPU time is kept too: overhead_cpu = the server
    process's CPU seconds (all threads, /proc/PID/stat) per request / this process's per call - 1.
(b) --clients concurrent clients (one asyncio task and connection each), each sending
    --requests_per_client requests, against the server with batching on and again with
    --enable_batching=false: failures (any status but 200 or transport error), stories/s (per
    wall second, and per CPU second of the server process),
    p50 / p99 latency under load, the server's peak resident memory (VmHWM) and its resident
    memory when idle before the load.
The JSON records the machine, its load average, the flags and the command.
"""
import asyncio
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np
import tensorflow as tf
from absl import app, flags
from ml_collections import config_flags

from benchmarks.output import write_result
from storyvis_tf.export.savedmodel import SIGNATURE_KEY, export_generator, load_export
from storyvis_tf.serving.story_page import synthetic_examples
from storyvis_tf.text.vocabulary import Vocabulary, tokenize
from storyvis_tf.training import run_dir

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Experiment config.")
_CLIENTS = flags.DEFINE_integer("clients", 200, "Concurrent clients of the load test.")
_REQUESTS_PER_CLIENT = flags.DEFINE_integer("requests_per_client", 1,
                                            "Sequential requests of each client.")
_LATENCY_REQUESTS = flags.DEFINE_integer("latency_requests", 30,
                                         "Sequential batch-1 requests (and in-process calls).")
_MAX_BATCH_SIZE = flags.DEFINE_integer("max_batch_size", 16, "The server's --max_batch_size.")
_OUTPUT = flags.DEFINE_string("output", "benchmarks/results/serving.json",
                              "Where the JSON result goes.")
_MODEL = "storyvis"
_HOST = "127.0.0.1"   # loopback only: the load never leaves this machine
_REQUEST_TIMEOUT_S = 600


def percentiles(seconds: list[float]) -> dict:
    """p50 / p99 / max in milliseconds."""
    ms = np.array(seconds) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()), "count": len(seconds)}


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far, all its threads (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int, field: str) -> int:
    """A /proc/PID/status memory field (VmRSS, VmHWM) in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


class Server:
    """pipelines.serve on a free loopback port, started and stopped around a `with` block."""

    def __init__(self, export_dir: str, *flags_: str):
        with socket.socket() as probe:
            probe.bind((_HOST, 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://{_HOST}:{self.port}"
        self._command = [sys.executable, "-m", "pipelines.serve", f"--export_dir={export_dir}",
                         f"--host={_HOST}", f"--port={self.port}", *flags_]

    def __enter__(self):
        self.process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("pipelines.serve exited: " + self.process.stderr.read()[-2000:])
            try:
                if httpx.get(f"{self.url}/v1/models/{_MODEL}").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("pipelines.serve did not answer within 300 s")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(60)


def batch_one_latency(server: Server, serve, stories: list[list[str]], count: int) -> dict:
    """(a) of the module docstring."""
    server_s, in_process_s, server_cpu_s, in_process_cpu_s = [], [], 0.0, 0.0
    with httpx.Client(base_url=server.url, timeout=_REQUEST_TIMEOUT_S) as http:
        for i in range(count + 1):   # the first pair warms both up and is not counted
            story = stories[i % len(stories)]
            body = {"instances": [{"sentences": story, "seed": i}]}
            start, cpu_start = time.perf_counter(), process_cpu_s(server.process.pid)
            response = http.post(f"/v1/models/{_MODEL}:predict", json=body)
            elapsed = time.perf_counter() - start
            cpu = process_cpu_s(server.process.pid) - cpu_start
            if response.status_code != 200:
                raise RuntimeError(f"batch-1 request failed: {response.text[:500]}")
            start, cpu_start = time.perf_counter(), time.process_time()
            outputs = serve(sentences=tf.constant([story]), seed=tf.constant([i], tf.int64))
            for tensor in outputs.values():
                tensor.numpy()
            if i:
                server_s.append(elapsed)
                in_process_s.append(time.perf_counter() - start)
                server_cpu_s += cpu
                in_process_cpu_s += time.process_time() - cpu_start
    server_p, in_process_p = percentiles(server_s), percentiles(in_process_s)
    return {"server": server_p, "in_process": in_process_p,
            "overhead_p50": server_p["p50_ms"] / in_process_p["p50_ms"] - 1,
            "overhead_median_of_pairs": statistics.median(
                s / p - 1 for s, p in zip(server_s, in_process_s)),
            "server_cpu_ms_per_request": server_cpu_s / count * 1e3,
            "in_process_cpu_ms_per_call": in_process_cpu_s / count * 1e3,
            "overhead_cpu": server_cpu_s / in_process_cpu_s - 1,
            "response_bytes": len(response.content)}


async def _load(url: str, stories: list[list[str]], clients: int, requests: int) -> dict:
    latencies, failures = [], []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=_REQUEST_TIMEOUT_S, limits=limits) as http:
        async def client(c: int):
            for r in range(requests):
                body = {"instances": [{"sentences": stories[(c + r) % len(stories)],
                                       "seed": c * requests + r}]}
                start = time.perf_counter()
                try:
                    response = await http.post(f"/v1/models/{_MODEL}:predict", json=body)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                        continue
                except httpx.HTTPError as error:
                    failures.append(f"{type(error).__name__}: {error}")
                    continue
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        wall = time.perf_counter() - start
    return {"requests": clients * requests, "failures": len(failures),
            "failure_examples": failures[:5], "wall_s": wall,
            "stories_per_s": len(latencies) / wall,
            "latency_under_load": percentiles(latencies) if latencies else None}


def load_test(server: Server, stories: list[list[str]], clients: int, requests: int) -> dict:
    """(b) of the module docstring, for one server (after one warm-up request)."""
    httpx.post(f"{server.url}/v1/models/{_MODEL}:predict", timeout=_REQUEST_TIMEOUT_S,
               json={"instances": [{"sentences": stories[0]}]}).raise_for_status()
    idle_rss = memory_kib(server.process.pid, "VmRSS")
    load_before = os.getloadavg()[0]
    cpu_start = process_cpu_s(server.process.pid)
    result = asyncio.run(_load(server.url, stories, clients, requests))
    served = result["requests"] - result["failures"]
    return {**result, "stories_per_server_cpu_s": served / (
                process_cpu_s(server.process.pid) - cpu_start),
            "machine_load_1min_before_after": [load_before, os.getloadavg()[0]],
            "server_idle_rss_mib": idle_rss / 1024,
            "server_peak_rss_mib": memory_kib(server.process.pid, "VmHWM") / 1024}


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.getLogger("httpx").setLevel(logging.WARNING)   # not a line per request
    config = _CONFIG.value
    stories = synthetic_examples(config.data.frames_per_story)
    if not stories:
        raise app.UsageError(f"--config: the synthetic stories have another number of frames "
                             f"than frames_per_story={config.data.frames_per_story}")
    vocabulary = Vocabulary.from_sentences([s for story in stories for s in story])
    # Long enough for every sentence (a request with more words is refused).
    length = max(config.data.max_sentence_length,
                 *(len(tokenize(s)) for story in stories for s in story))
    batching = [f"--max_batch_size={_MAX_BATCH_SIZE.value}",
                f"--max_stories_per_request={_MAX_BATCH_SIZE.value}",
                f"--max_enqueued_batches={-(-_CLIENTS.value // _MAX_BATCH_SIZE.value) + 1}"]
    with tempfile.TemporaryDirectory() as workdir:
        run = os.path.join(workdir, "run")
        text_encoder, generator = run_dir.build_generation_models(config, len(vocabulary), length)
        run_dir.save_generation_artifacts(run, config, vocabulary, text_encoder, generator,
                                          {"max_sentence_length": length})
        export_dir = os.path.join(workdir, "export")
        model, _ = load_export(export_generator(run, export_dir))
        serve = model.signatures[SIGNATURE_KEY]
        with Server(export_dir, *batching) as server:
            latency = batch_one_latency(server, serve, stories, _LATENCY_REQUESTS.value)
            with_batching = load_test(server, stories, _CLIENTS.value, _REQUESTS_PER_CLIENT.value)
        with Server(export_dir, *batching, "--enable_batching=false") as server:
            without_batching = load_test(server, stories, _CLIENTS.value,
                                         _REQUESTS_PER_CLIENT.value)

    result = {
        "command": " ".join(["python -m benchmarks.serving", *sys.argv[1:]]),
        "machine": {"cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "tensorflow": tf.__version__,
                    "gpus": len(tf.config.list_physical_devices("GPU")),
                    "load_average_1_5_15min_at_end": os.getloadavg()},
        "settings": {"image_size": config.data.image_size,
                     "frames_per_story": config.data.frames_per_story,
                     "max_sentence_length": length, "generator": config.generator.to_dict(),
                     "clients": _CLIENTS.value, "requests_per_client": _REQUESTS_PER_CLIENT.value,
                     "latency_requests": _LATENCY_REQUESTS.value, "server_flags": batching,
                     "host": _HOST},
        "batch_1_latency": latency,
        "load_with_batching": with_batching,
        "load_without_batching": without_batching,
        "batching_throughput_gain": (with_batching["stories_per_s"]
                                     / without_batching["stories_per_s"]),
        "batching_throughput_gain_per_server_cpu_s": (
            with_batching["stories_per_server_cpu_s"]
            / without_batching["stories_per_server_cpu_s"]),
    }
    write_result(_OUTPUT.value, result)
    print(json.dumps({key: result[key] for key in (
        "batch_1_latency", "load_with_batching", "load_without_batching",
        "batching_throughput_gain", "batching_throughput_gain_per_server_cpu_s")}, indent=2))


if __name__ == "__main__":
    app.run(main)
