"""The study's figures, drawn with PIL:
- comparison.png: the same test stories drawn by every row, side by side: for each story its
  real frames under their sentences, then one line per row (the export of its first seed, with
  the evaluator's noise seed for that story, so every row gets the same sentences and noise);
- metrics.png: one panel per metric, a horizontal bar per row at the mean over its seeds, a
  whisker from the lowest to the highest seed, a dot per seed, and the image-blind baseline
  (label prior; R-precision chance) as a dashed line.
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from storyvis_tf.study import report
from storyvis_tf.study.stages import COMPARISON
from storyvis_tf.visualization import story_grid

COMPARISON_PNG, METRICS_PNG = "comparison.png", "metrics.png"
_PANEL_WIDTH, _NAME_WIDTH, _BAR_HEIGHT, _PANEL_TOP = 460, 150, 18, 28
_BAR_COLOUR, _SEED_COLOUR, _BASELINE_COLOUR = (100, 149, 237), (25, 25, 112), (200, 30, 30)


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
    baseline_of = {"character_f1": prior.get("character_f1"),
                   "frame_accuracy": prior.get("frame_accuracy"),
                   "r_precision": chances[0] if len(chances) == 1 else None}
    metrics = [m for m in report.METRICS if any(m in s["metrics"] for s in summaries)]
    panels = [_metric_panel(metric, summaries, baseline_of.get(metric)) for metric in metrics]
    if not panels:
        raise ValueError("metrics_figure: no metric to draw")
    columns = 2
    height = panels[0].height
    figure = Image.new("RGB", (columns * _PANEL_WIDTH, -(-len(panels) // columns) * height),
                       "white")
    for index, panel in enumerate(panels):
        figure.paste(panel, ((index % columns) * _PANEL_WIDTH, (index // columns) * height))
    return np.asarray(figure)


def _metric_panel(metric: str, summaries: list[dict], baseline: float | None) -> Image.Image:
    font = ImageFont.load_default(size=11)
    height = _PANEL_TOP + len(summaries) * (_BAR_HEIGHT + 6) + 24
    panel = Image.new("RGB", (_PANEL_WIDTH, height), "white")
    draw = ImageDraw.Draw(panel)
    better = "lower" if metric in report.LOWER_IS_BETTER else "higher"
    title = f"{report.METRICS[metric]} ({better} is better)"
    if baseline is not None:
        title += f"; dashed: {'chance' if metric == 'r_precision' else 'label prior'}"
    draw.text((8, 6), title, fill="black", font=font)
    values = [value for summary in summaries if metric in summary["metrics"]
              for value in summary["metrics"][metric]["values"]]
    extent = [0.0, *values, *([baseline] if baseline is not None else [])]
    low, high = min(extent), max(extent)
    high = high if high - low > 1e-12 else low + 1.0   # all zero: any scale will do
    left, right = _NAME_WIDTH, _PANEL_WIDTH - 50

    def x(value):
        return left + (value - low) / (high - low) * (right - left)

    bottom = height - 24
    draw.line((x(0.0), _PANEL_TOP - 4, x(0.0), bottom), fill="black")
    for tick in sorted({low, 0.0, high}):
        draw.text((x(tick), bottom + 4), f"{tick:.3g}", fill="black", font=font, anchor="mt")
    for index, summary in enumerate(summaries):
        top = _PANEL_TOP + index * (_BAR_HEIGHT + 6)
        middle = top + _BAR_HEIGHT / 2
        draw.text((left - 6, middle), summary["row"][:24], fill="black", font=font, anchor="rm")
        figures = summary["metrics"].get(metric)
        if figures is None:
            draw.text((left + 4, middle), "not computed", fill="grey", font=font, anchor="lm")
            continue
        draw.rectangle((x(min(0.0, figures["mean"])), top, x(max(0.0, figures["mean"])),
                        top + _BAR_HEIGHT), fill=_BAR_COLOUR)
        draw.line((x(figures["min"]), middle, x(figures["max"]), middle), fill="black", width=2)
        for value in figures["values"]:
            draw.ellipse((x(value) - 3, middle - 3, x(value) + 3, middle + 3), fill=_SEED_COLOUR)
        draw.text((x(max(figures["max"], figures["mean"])) + 6, middle),
                  f"{figures['mean']:.3g}", fill="black", font=font, anchor="lm")
    if baseline is not None:
        for y in range(_PANEL_TOP - 4, bottom, 6):
            draw.line((x(baseline), y, x(baseline), y + 3), fill=_BASELINE_COLOUR, width=2)
    return panel
