"""Where a config's train step spends its time: the step of --config as it is and with one part
switched off or changed at a time, each measured by `benchmarks.train_step_throughput` in its own
process, in one JSON.

  python -m benchmarks.train_step_breakdown --config=configs/synthetic_cpu.py \\
      [--warmup=2] [--steps=6] [--output=results/benchmarks/train_step_breakdown.json]

Per variant: the overrides, the median wall and process-CPU seconds of a step, XLA's FLOPs per
step, and `cpu_over_as_configured`, its median process-CPU time over the unchanged step's. The
variants run one after another on the same machine, so a load that changes during the run moves
the wall times; the CPU times move less (the JSON records the load average of each). A variant
that turns a term off is not a recipe: it says what the term costs, not what it buys (the
time-to-quality benchmark says that).
"""
import json
import os
import subprocess
import sys
import tempfile

from absl import app, flags

from benchmarks.output import write_result

ALIGNMENT_TERMS = ("story_image_story_sentence", "image_sentence", "region_word",
                   "story_region_word", "cluster")
# name -> config overrides of one variant; "as_configured" is the reference.
VARIANTS = {
    "as_configured": {},
    "with_xla": {"train.jit_compile": True},
    "no_generator_alignment": {"losses.generator_alignment_weight": 0.0},
    "no_word_level_terms": {"losses.region_word": False, "losses.story_region_word": False},
    "no_alignment_terms": {f"losses.{term}": False for term in ALIGNMENT_TERMS},
    "no_r1": {"losses.r1_gamma": 0.0},
    "no_bwsa": {"generator.attention": "none"},
}

_CONFIG = flags.DEFINE_string("config", "configs/synthetic_cpu.py", "Experiment config file.")
_VARIANTS = flags.DEFINE_list("variants", list(VARIANTS), f"Which of {list(VARIANTS)}.")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed steps per variant (the first compiles).")
_STEPS = flags.DEFINE_integer("steps", 6, "Timed steps per variant (median reported).")
_OUTPUT = flags.DEFINE_string("output", "results/benchmarks/train_step_breakdown.json",
                              "Where the JSON result goes.")


def measure(config: str, overrides: dict, warmup: int, steps: int) -> dict:
    """train_step_throughput's JSON for `config` with `overrides`, run in a child process."""
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "step.json")
        command = [sys.executable, "-m", "benchmarks.train_step_throughput", f"--config={config}",
                   f"--warmup={warmup}", f"--steps={steps}", "--matmul_size=1024",
                   f"--output={output}",
                   *(f"--config.{field}={value}" for field, value in overrides.items())]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        with open(output, encoding="utf-8") as f:
            return json.load(f)


def main(argv: list[str]) -> None:
    del argv
    unknown = sorted(set(_VARIANTS.value) - set(VARIANTS))
    if unknown:
        raise app.UsageError(f"--variants: unknown {unknown}; expected some of {list(VARIANTS)}")
    names = ["as_configured", *(name for name in _VARIANTS.value if name != "as_configured")]
    variants = {}
    for name in names:
        print(f"measuring {name} ...", flush=True)
        step = measure(_CONFIG.value, VARIANTS[name], _WARMUP.value, _STEPS.value)
        variants[name] = {
            "overrides": VARIANTS[name],
            "median_s": step["train_step"]["median_s"],
            "median_process_cpu_s": step["train_step"]["median_process_cpu_s"],
            "flops_per_step": step["flops_per_step"]["flops"],
            "load_average_1min_at_end": step["machine"]["load_average_1_5_15min_at_end"][0],
        }
    reference = variants["as_configured"]["median_process_cpu_s"]
    for variant in variants.values():
        variant["cpu_over_as_configured"] = variant["median_process_cpu_s"] / reference
    write_result(_OUTPUT.value, {
        "benchmark": "train_step_breakdown",
        "command": " ".join(["python -m benchmarks.train_step_breakdown", *sys.argv[1:]]),
        "config": _CONFIG.value, "warmup_steps": _WARMUP.value, "timed_steps": _STEPS.value,
        "cpu_count": os.cpu_count(), "variants": variants})
    for name, variant in variants.items():
        print(f"{name:24s} {variant['median_process_cpu_s']:.3f} CPU-s/step "
              f"({variant['cpu_over_as_configured']:.2f}x)  {variant['median_s']:.3f} s wall")
    print(f"wrote {_OUTPUT.value}")


if __name__ == "__main__":
    app.run(main)
