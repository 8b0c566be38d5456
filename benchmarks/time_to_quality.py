"""Time to quality: from nothing (preprocessed data aside) to a trained export, character F1 and
frame accuracy on the test split against wall time.

  python -m benchmarks.time_to_quality --config=configs/synthetic_cpu.py --data_dir=DATA32 \\
      --output_dir=runs/ttq [--pretrained_dir=PRE] [--eval_every_epochs=1] \\
      [--output=results/benchmarks/time_to_quality.json]

Pretrains the encoders (timed; skipped when --pretrained_dir names a finished run, whose own
recorded time is then counted), trains the GAN of --config, and at the end of every
--eval_every_epochs-th epoch exports the run's generator and scores it with the evaluator on
the test split (`evaluation.evaluator.evaluate`: character F1, frame accuracy, the label-prior
baseline and the real-frames ceiling, fid_domain, fsd_domain, Cosine, R-precision). The clock
stops while a checkpoint is exported and evaluated, so the curve's x axis is the time a run
without evaluations would have taken: wall seconds of pretraining + training, and the process
CPU seconds (the machine is shared; CPU time moves less with other load). The JSON holds every
point, the first time each F1 threshold was reached, the machine's same-run matmul rate and load
average; a PNG beside it draws F1 and frame accuracy against minutes.
"""
import os
import platform
import sys

import keras
from absl import app, flags
from ml_collections import config_flags

from benchmarks.output import write_result
from benchmarks.quality_curve import PRETRAIN_TIME, THRESHOLDS, first_reaching, write_curve
from benchmarks.timing import Stopwatch, matmul_flops_per_second
from storyvis_tf.evaluation.evaluator import evaluate
from storyvis_tf.export.savedmodel import export_generator
from storyvis_tf.json_files import read_json, write_json
from storyvis_tf.label_use import ground_truth_label_uses
from storyvis_tf.training.pretrain import run_pretrain
from storyvis_tf.training.trainer import train

_CONFIG = config_flags.DEFINE_config_file("config", "configs/synthetic_cpu.py",
                                          "Experiment config (pretraining and GAN).")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Preprocessed data (pipelines.preprocess).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where pretrain/, run/, export/, eval/ go.")
_PRETRAINED_DIR = flags.DEFINE_string("pretrained_dir", "", "A finished pipelines.pretrain run "
                                      "to reuse (its recorded time is counted); default: "
                                      "pretrain into OUTPUT_DIR/pretrain.")
_EVAL_EVERY = flags.DEFINE_integer("eval_every_epochs", 1, "Evaluate every N epochs.")
_OUTPUT = flags.DEFINE_string("output", "results/benchmarks/time_to_quality.json", "JSON result.")


class CheckpointEvaluation(keras.callbacks.Callback):
    """At the end of every `every`-th epoch (after the run callbacks wrote the generation
    weights): stop the clock, export, evaluate, record a point, restart the clock."""

    def __init__(self, clock, every, run_dir, export_dir, eval_dir, data_dir, pretrained_dir,
                 config, points):
        super().__init__()
        self.clock, self.every, self.points = clock, every, points
        self.run_dir, self.export_dir, self.eval_dir = run_dir, export_dir, eval_dir
        self.data_dir, self.pretrained_dir, self.config = data_dir, pretrained_dir, config

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        self.clock.stop()
        version = export_generator(self.run_dir, self.export_dir)
        report = evaluate(version, self.data_dir, "test",
                          os.path.join(self.eval_dir, f"epoch_{epoch + 1:04d}"), self.config,
                          pretrained_dir=self.pretrained_dir, verbose=False, log=lambda _: None)
        step = int(self.model.g_optimizer.iterations.numpy())
        self.points.append({"epoch": epoch + 1, "step": step, "wall_s": self.clock.wall,
                            "process_cpu_s": self.clock.cpu, "metrics": report["metrics"],
                            "ceiling": report["real_data_ceiling"],
                            "baselines": report["baselines"], "export": version})
        print(f"epoch {epoch + 1}, step {step}: {self.clock.wall / 60:.1f} min, character F1 "
              f"{report['metrics'].get('character_f1', float('nan')):.3f}, frame accuracy "
              f"{report['metrics'].get('frame_accuracy', float('nan')):.3f}", flush=True)
        self.clock.start()


def _pretrain(config, data_dir, output_dir, clock) -> str:
    """The pretrained directory: --pretrained_dir (its recorded seconds added to the clock), or
    a pretraining into OUTPUT_DIR/pretrain, timed (and recorded for later reuse)."""
    if _PRETRAINED_DIR.value:
        recorded = os.path.join(_PRETRAINED_DIR.value, PRETRAIN_TIME)
        if os.path.isfile(recorded):
            seconds = read_json(recorded)
            clock.wall += seconds["wall_s"]
            clock.cpu += seconds["process_cpu_s"]
        else:
            print(f"{recorded} not found: its pretraining time is not counted")
        return _PRETRAINED_DIR.value
    pretrained_dir = os.path.join(output_dir, "pretrain")
    before_wall, before_cpu = clock.wall, clock.cpu
    clock.start()
    run_pretrain(config, data_dir, pretrained_dir, verbose=2)
    clock.stop()
    write_json(os.path.join(pretrained_dir, PRETRAIN_TIME),
               {"wall_s": clock.wall - before_wall, "process_cpu_s": clock.cpu - before_cpu})
    return pretrained_dir


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _DATA_DIR.value or not _OUTPUT_DIR.value:
        raise app.UsageError("--data_dir and --output_dir are required")
    if _EVAL_EVERY.value < 1:
        raise app.UsageError("--eval_every_epochs must be >= 1")
    config, output_dir = _CONFIG.value, _OUTPUT_DIR.value
    matmul = matmul_flops_per_second(2048, 2, 5)
    clock, points = Stopwatch(), []
    pretrained_dir = _pretrain(config, _DATA_DIR.value, output_dir, clock)
    config.train.pretrained_dir = pretrained_dir
    evaluation = CheckpointEvaluation(
        clock, _EVAL_EVERY.value, os.path.join(output_dir, "run"),
        os.path.join(output_dir, "export"), os.path.join(output_dir, "eval"), _DATA_DIR.value,
        pretrained_dir, config, points)
    clock.start()
    train(config, _DATA_DIR.value, os.path.join(output_dir, "run"),
          extra_callbacks=[evaluation], verbose=2)
    clock.stop()
    labels = ground_truth_label_uses(config)
    result = {
        "benchmark": "time_to_quality",
        "command": " ".join(sys.argv),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_average_at_end": os.getloadavg()},
        "matmul_2048_float32_gflops_per_second": matmul / 1e9,
        "config": config.to_dict(),
        "ground_truth_labels_used": labels,
        "total_wall_s": clock.wall, "total_process_cpu_s": clock.cpu,
        "first_reaching": {f"character_f1>={t}": first_reaching(points, "character_f1", t)
                           for t in THRESHOLDS},
        "points": points,
    }
    write_result(_OUTPUT.value, result)
    curve = os.path.splitext(_OUTPUT.value)[0] + ".png"
    write_curve(result, curve, os.path.basename(_OUTPUT.value))
    print(f"wrote {_OUTPUT.value} and {curve}")


if __name__ == "__main__":
    app.run(main)
