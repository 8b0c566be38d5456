"""benchmarks/time_to_quality.py as a user runs it: from preprocessed smoke data to a curve of
scored checkpoints, with pretraining counted (run here, or reused with its recorded time) and
the evaluations left off the clock."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from benchmarks import timing
from benchmarks.quality_curve import PRETRAIN_TIME, THRESHOLDS, first_reaching
from benchmarks.timing import Stopwatch
from configs import smoke
from storyvis_tf.data.preprocess import run_preprocess
from tests.pipeline_cli import REPO

pytestmark = pytest.mark.slow

# benchmarks.time_to_quality itself is run, not imported: it defines command-line flags that
# other tests' modules define too.
RECORDED = {"wall_s": 5000.0, "process_cpu_s": 3000.0}
TINY_EVALUATION = ("--config.eval.domain_epochs=1", "--config.eval.domain_batch_size=8",
                   "--config.eval.domain_width=4", "--config.eval.domain_feature_dim=8")


def run_benchmark(data_dir, output_dir, output, *flags):
    command = [sys.executable, "-m", "benchmarks.time_to_quality", "--config=configs/smoke.py",
               "--config.train.epochs=2", "--config.train.steps_per_epoch=2",
               *TINY_EVALUATION, f"--data_dir={data_dir}", f"--output_dir={output_dir}",
               f"--output={output}", *flags]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(output) as file:
        return json.load(file)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two benchmark runs on the same data: one that pretrains, one reusing its pretraining."""
    root = tmp_path_factory.mktemp("time_to_quality")
    data_dir = str(root / "data")
    run_preprocess("synthetic", "", data_dir, 32, config=smoke.get_config())
    cache = f"--config.eval.statistics_cache_dir={root / 'cache'}"
    fresh = run_benchmark(data_dir, root / "fresh", root / "fresh.json", cache)
    # The reused pretraining's recorded time, read and then replaced by a known one that the
    # second run must count.
    pretrained_dir = root / "fresh" / "pretrain"
    recorded_path = pretrained_dir / PRETRAIN_TIME
    with open(recorded_path) as file:
        recorded = json.load(file)
    with open(recorded_path, "w") as file:
        json.dump(RECORDED, file)
    reused = run_benchmark(data_dir, root / "reused", root / "reused.json", cache,
                           f"--pretrained_dir={pretrained_dir}")
    return {"root": root, "fresh": fresh, "recorded": recorded, "reused": reused}


def test_every_epoch_is_a_scored_point_on_a_clock_that_only_moves_forward(runs):
    result = runs["fresh"]
    points = result["points"]
    assert [(point["epoch"], point["step"]) for point in points] == [(1, 2), (2, 4)]
    for point in points:
        assert {"character_f1", "frame_accuracy", "fid_domain"} <= set(point["metrics"])
        assert "character_f1" in point["ceiling"] and "label_prior" in point["baselines"]
        assert os.path.isdir(point["export"])
    walls = [0.0] + [point["wall_s"] for point in points] + [result["total_wall_s"]]
    cpus = [0.0] + [point["process_cpu_s"] for point in points] + [result["total_process_cpu_s"]]
    assert walls == sorted(walls) and cpus == sorted(cpus) and walls[1] > 0 and cpus[1] > 0
    assert result["ground_truth_labels_used"] == []   # configs/smoke.py reads no label
    assert result["config"]["train"]["steps_per_epoch"] == 2
    assert result["matmul_2048_float32_gflops_per_second"] > 0
    curve = Image.open(runs["root"] / "fresh.png")
    assert curve.width > 300 and curve.height > 200


def test_first_reaching_is_the_first_point_at_or_above_the_threshold(runs):
    points = [{"step": step, "metrics": {"character_f1": f1}}
              for step, f1 in ((200, 0.4), (400, 0.7), (600, 0.65), (800, 0.75))]
    assert first_reaching(points, "character_f1", 0.7)["step"] == 400
    assert first_reaching(points, "character_f1", 0.5)["step"] == 400
    assert first_reaching(points, "character_f1", 0.8) is None
    result = runs["fresh"]
    assert result["first_reaching"] == {
        f"character_f1>={threshold}": first_reaching(
            result["points"], "character_f1", threshold)
        for threshold in THRESHOLDS}


def test_reused_pretraining_is_counted_with_its_recorded_time(runs):
    assert runs["recorded"]["wall_s"] > 0 and runs["recorded"]["process_cpu_s"] > 0
    first = runs["reused"]["points"][0]
    assert first["wall_s"] > RECORDED["wall_s"]
    assert first["process_cpu_s"] > RECORDED["process_cpu_s"]
    assert first["wall_s"] < RECORDED["wall_s"] + runs["fresh"]["total_wall_s"]
    assert not os.path.exists(runs["root"] / "reused" / "pretrain")   # nothing pretrained again


def test_stopwatch_counts_only_while_running(monkeypatch):
    now = {"wall": 100.0, "cpu": 10.0}
    monkeypatch.setattr(timing.time, "perf_counter", lambda: now["wall"])
    monkeypatch.setattr(timing.time, "process_time", lambda: now["cpu"])
    clock = Stopwatch()
    clock.start()
    now.update(wall=103.0, cpu=12.0)
    clock.stop()
    now.update(wall=150.0, cpu=40.0)   # an evaluation, off the clock
    clock.start()
    now.update(wall=151.0, cpu=40.5)
    clock.stop()
    assert (clock.wall, clock.cpu) == (4.0, 2.5)
