"""The study's figures (PIL):
- comparison.png: the same test stories drawn by every row, side by side: for each story its
  real frames under their sentences, then one line per row (the export of its first seed, with
  the evaluator's noise seed for that story, so every row gets the same sentences and noise);
- metrics.png: one panel per metric (`charts.bar_chart`), a horizontal bar per row at the mean
  over its seeds, a whisker from the lowest to the highest seed, a dot per seed, and the
  image-blind baseline (label prior; R-precision chance) as a dashed line.
"""
import os

import numpy as np
from PIL import Image

from storyvis_tf import charts
from storyvis_tf.study import report
from storyvis_tf.study.stages import COMPARISON
from storyvis_tf.visualization import story_grid

COMPARISON_PNG, METRICS_PNG = "comparison.png", "metrics.png"
_PANEL_WIDTH = 460


def write_figures(output_dir: str, results: list[dict], row_dirs: dict[str, str]) -> None:
    """OUTPUT/comparison.png and OUTPUT/metrics.png; row_dirs maps a result's key to its row
    directory (where comparison.npz is)."""
    Image.fromarray(comparison_figure(results, row_dirs)).save(
        os.path.join(output_dir, COMPARISON_PNG))
    Image.fromarray(metrics_figure(results)).save(os.path.join(output_dir, METRICS_PNG))


def comparison_figure(results: list[dict], row_dirs: dict[str, str]) -> np.ndarray:
    """uint8 [h, w, 3] (module docstring); the stories are those every row has."""
    first_seeds = {}
    for result in results:
        first_seeds.setdefault(result["row"], result)
    drawn = {row: np.load(os.path.join(row_dirs[result["key"]], COMPARISON))
             for row, result in first_seeds.items()}
    reference = next(iter(drawn.values()))
    count = min(len(stories["generated"]) for stories in drawn.values())
    images, captions = [], []
    for story in range(count):
        sentences = [str(sentence) for sentence in reference["sentences"][story]]
        images.append(reference["real"][story])
        captions.append([f"real {reference['story_ids'][story]}: {sentences[0]}",
                         *sentences[1:]])
        for row, stories in drawn.items():
            images.append(stories["generated"][story])
            captions.append([f"{row} (trained with seed {first_seeds[row]['seed']}, noise "
                             f"seed {int(stories['seeds'][story])})",
                             *[""] * (len(sentences) - 1)])
    return story_grid(np.stack(images), captions)


def metrics_figure(results: list[dict]) -> np.ndarray:
    """uint8 [h, w, 3] (module docstring), two panels a line."""
    summaries = report.summarize(results)
    found = report.baselines(results)
    prior = found["label_prior"] or {}
    chances = list(found["r_precision_chance"])
    baseline_of = {"character_f1": ("label prior", prior.get("character_f1")),
                   "frame_accuracy": ("label prior", prior.get("frame_accuracy")),
                   "r_precision": ("chance", chances[0] if len(chances) == 1 else None)}
    panels = []
    for metric in report.METRICS:
        if not any(metric in summary["metrics"] for summary in summaries):
            continue
        baseline_name, baseline = baseline_of.get(metric, ("", None))
        title = (f"{report.METRICS[metric]} "
                 f"({'lower' if metric in report.LOWER_IS_BETTER else 'higher'} is better)"
                 + (f"; dashed: {baseline_name}" if baseline is not None else ""))
        panels.append(charts.bar_chart(
            {summary["row"]: summary["metrics"].get(metric, {}).get("values", [])
             for summary in summaries}, title, baseline, width=_PANEL_WIDTH))
    if not panels:
        raise ValueError("metrics_figure: no metric to draw")
    height = panels[0].shape[0]
    figure = np.full((-(-len(panels) // 2) * height, 2 * _PANEL_WIDTH, 3), 255, np.uint8)
    for index, panel in enumerate(panels):
        row, column = divmod(index, 2)
        figure[row * height:(row + 1) * height,
               column * _PANEL_WIDTH:(column + 1) * _PANEL_WIDTH] = panel
    return figure
