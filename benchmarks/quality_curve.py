"""Quality against time, as benchmarks/time_to_quality.py records it: `first_reaching` (the
first scored point at or above an F1 threshold), `write_curve` (the PNG of F1 and frame
accuracy against minutes) and `PRETRAIN_TIME` (the name of a pretraining's time record). Apart
from the benchmark, whose module defines command-line flags, so that tests and redraws of
committed results can import them."""
from PIL import Image

from storyvis_tf.charts import line_chart

THRESHOLDS = (0.5, 0.6, 0.7)   # character F1 levels whose first point a result records
# What a benchmark pretraining leaves in its directory (its wall and process-CPU seconds), so
# that a later run reusing it (--pretrained_dir) counts its time.
PRETRAIN_TIME = "time_to_quality_pretrain.json"


def first_reaching(points: list[dict], metric: str, threshold: float) -> dict | None:
    """The first point whose `metric` is at least `threshold` (None if none)."""
    return next((p for p in points if p["metrics"].get(metric, -1.0) >= threshold), None)


def write_curve(result: dict, path: str, name: str) -> None:
    """Draws a time_to_quality `result`'s points (character F1, frame accuracy and the
    label-prior F1 against wall minutes) to the PNG `path`, titled with `name` and whether the
    run read ground-truth labels."""
    points, labels = result["points"], result["ground_truth_labels_used"]
    minutes = [p["wall_s"] / 60 for p in points]
    series = {title: (minutes, [p["metrics"][key] for p in points])
              for title, key in (("character F1", "character_f1"),
                                 ("frame accuracy", "frame_accuracy"))}
    prior = points[-1]["baselines"].get("label_prior")
    if prior:
        series["label prior F1"] = (minutes, [prior["character_f1"]] * len(points))
    title = f"{name}: " + (f"reads the ground-truth labels ({len(labels)} uses)" if labels
                           else "reads no label")
    Image.fromarray(line_chart(series, "minutes (pretraining + training, 2 cores)", "score",
                               title, y_range=(0.0, 1.0))).save(path)
