"""The study's tables: results.md (one line per row: each metric's mean and min-max over the
row's seeds, parameters, step and wall time, label use; the label-prior baseline once) and
results.csv (one line per row and seed).

`summarize(results)` aggregates the per-(row, seed) results of `stages.train_export_evaluate`
into per-row figures; `write_report` writes both files.
"""
import csv
import datetime
import io
import os
import statistics

from storyvis_tf.study.spec import Study

RESULTS_MD, RESULTS_CSV = "results.md", "results.csv"
# Metric -> column title, in table order; a column appears when some row has the metric.
METRICS = {"character_f1": "character F1", "frame_accuracy": "frame accuracy",
           "fid": "FID", "fsd": "FSD", "fid_domain": "FID (domain)", "fsd_domain": "FSD (domain)",
           "cosine": "Cosine", "r_precision": "R-precision"}
LOWER_IS_BETTER = ("fid", "fsd", "fid_domain", "fsd_domain")


def summarize(results: list[dict]) -> list[dict]:
    """Per row, in the order rows first appear in `results`: {"row", "seeds", "label_uses",
    "metrics": {name: {"mean", "min", "max", "std" (sample std, 0 for one seed), "values"}},
    "parameters" (of the first seed that recorded them, or None), "step_time_s",
    "train_wall_s" (means over the seeds that recorded them, or None)}."""
    rows: dict[str, list[dict]] = {}
    for result in results:
        rows.setdefault(result["row"], []).append(result)
    summaries = []
    for name, seeds in rows.items():
        metrics = {}
        for metric in METRICS:
            values = [seed["metrics"][metric] for seed in seeds if metric in seed["metrics"]]
            if values:
                metrics[metric] = {"mean": statistics.fmean(values), "min": min(values),
                                   "max": max(values), "values": values,
                                   "std": statistics.stdev(values) if len(values) > 1 else 0.0}
        summaries.append({
            "row": name, "seeds": [seed["seed"] for seed in seeds],
            "label_uses": seeds[0]["label_uses"], "metrics": metrics,
            "parameters": next((seed["parameters"] for seed in seeds if seed["parameters"]),
                               None),
            "step_time_s": _mean_of_recorded(seed["step_time_s"] for seed in seeds),
            "train_wall_s": _mean_of_recorded(seed["train_wall_s"] for seed in seeds)})
    return summaries


def baselines(results: list[dict]) -> dict:
    """The image-blind baselines of the evaluations: {"label_prior": {...}} from the first
    result that has it (it depends on the data only) and {"r_precision_chance": {value: [rows]}}
    (it depends on the number of candidates of each row's encoders)."""
    label_prior = next((result["baselines"]["label_prior"] for result in results
                        if "label_prior" in result["baselines"]), None)
    chance: dict[float, list[str]] = {}
    for result in results:
        if "chance" in result["baselines"]:
            rows = chance.setdefault(result["baselines"]["chance"]["r_precision"], [])
            if result["row"] not in rows:
                rows.append(result["row"])
    return {"label_prior": label_prior, "r_precision_chance": chance}


def write_report(study: Study, study_path: str, output_dir: str, results: list[dict],
                 command: str) -> None:
    """OUTPUT/results.md and OUTPUT/results.csv."""
    with open(os.path.join(output_dir, RESULTS_MD), "w", encoding="utf-8") as f:
        f.write(results_markdown(study, study_path, results, command))
    with open(os.path.join(output_dir, RESULTS_CSV), "w", encoding="utf-8", newline="") as f:
        f.write(results_csv(results))


def results_markdown(study: Study, study_path: str, results: list[dict], command: str) -> str:
    summaries = summarize(results)
    metrics = [metric for metric in METRICS if any(metric in s["metrics"] for s in summaries)]
    lines = [f"# Study {study.name}", ""]
    if study.description:
        lines += [study.description.strip(), ""]
    lines += [
        f"- study file: `{study_path}`" + (f"; command: `{command}`" if command else ""),
        f"- budget: {study.train_steps} steps of each row's train.batch_size "
        f"({study.train_steps // study.steps_per_epoch} epochs of {study.steps_per_epoch} steps)",
        f"- data: {_settings(study.data) or 'as each row config sets it'}; scored on the "
        f"{study.split} split" + (f" with {_settings(study.evaluation)}"
                                  if study.evaluation else ""),
        f"- shared seed {study.shared_seed}: data, pretrained encoders (one per encoder config), "
        "the evaluator's domain networks and the test stories' noise are the same for every "
        "row and seed; the seeds vary the GAN training only",
        f"- written {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        "",
        "Each cell: the mean over the row's seeds, then (min–max) when it has several. "
        + ", ".join(f"{METRICS[m]}: lower is better" for m in metrics if m in LOWER_IS_BETTER)
        + "; the others: higher is better. *labels*: whether the row's config reads the "
        "frames' ground-truth character labels anywhere (the switches are listed below). "
        "*step*: median seconds per training step; *train wall*: minutes of the training "
        "sitting that finished the run.",
        "",
    ]
    header = ["row", "labels", "seeds", *(METRICS[m] for m in metrics), "G params (M)",
              "D params (M)", "step (s)", "train wall (min)"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for summary in summaries:
        parameters = summary["parameters"] or {}
        cells = [summary["row"], "yes" if summary["label_uses"] else "no",
                 ", ".join(map(str, summary["seeds"])),
                 *(_spread(summary["metrics"].get(m)) for m in metrics),
                 _number(parameters.get("generator"), 1e-6, 2),
                 _number(parameters.get("discriminator"), 1e-6, 2),
                 _number(summary["step_time_s"], 1, 3),
                 _number(summary["train_wall_s"], 1 / 60, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    found = baselines(results)
    prior = found["label_prior"]
    if prior:
        lines.append(f"Label-prior baseline (ignores the image, predicts for every frame the "
                     f"characters of at least half the training frames: "
                     f"{', '.join(prior['predicts']) or 'none'}): character F1 "
                     f"{prior['character_f1']:.3f}, frame accuracy "
                     f"{prior['frame_accuracy']:.3f}.")
    for value, rows in found["r_precision_chance"].items():
        lines.append(f"R-precision of unrelated embeddings (chance): {value:.4f}"
                     + ("" if len(found["r_precision_chance"]) == 1
                        else f" (rows {', '.join(rows)})") + ".")
    lines += ["", "## Rows", ""]
    for row in study.rows:
        overrides = ", ".join(f"{key}={value!r}" for key, value in row.overrides.items())
        uses = next(s["label_uses"] for s in summaries if s["row"] == row.name)
        lines.append(f"- **{row.name}**: `{row.config}`" + (f" with {overrides}" if overrides
                                                          else "")
                     + (f"; reads labels through {', '.join(uses)}" if uses else ""))
    not_computed = sorted({f"{name}: {reason}" for result in results
                           for name, reason in result["not_computed"].items()})
    if not_computed:
        lines += ["", "Not computed:", "", *(f"- {line}" for line in not_computed)]
    return "\n".join(lines) + "\n"


def results_csv(results: list[dict]) -> str:
    """One line per (row, seed): row, seed, key, label_uses (;-separated), every metric of
    METRICS, the parameter counts, step_time_s, train_wall_s, eval_wall_s."""
    columns = ["row", "seed", "key", "label_uses", *METRICS, "generator_params",
               "discriminator_params", "projection_head_params", "step_time_s", "train_wall_s",
               "eval_wall_s"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for result in results:
        parameters = result["parameters"] or {}
        writer.writerow({
            "row": result["row"], "seed": result["seed"], "key": result["key"],
            "label_uses": ";".join(result["label_uses"]),
            **{metric: result["metrics"].get(metric, "") for metric in METRICS},
            "generator_params": parameters.get("generator", ""),
            "discriminator_params": parameters.get("discriminator", ""),
            "projection_head_params": parameters.get("projection_heads", ""),
            **{key: "" if result[key] is None else result[key]
               for key in ("step_time_s", "train_wall_s", "eval_wall_s")}})
    return out.getvalue()


def _mean_of_recorded(values) -> float | None:
    recorded = [value for value in values if value is not None]
    return statistics.fmean(recorded) if recorded else None


def _spread(summary: dict | None) -> str:
    if summary is None:
        return "–"
    digits = 1 if abs(summary["mean"]) >= 10 else 3
    text = _fixed(summary["mean"], digits)
    if len(summary["values"]) > 1:
        text += f" ({_fixed(summary['min'], digits)}–{_fixed(summary['max'], digits)})"
    return text


def _number(value, scale: float, digits: int) -> str:
    return "–" if value is None else _fixed(value * scale, digits)


def _fixed(value: float, digits: int) -> str:
    """`value` with `digits` decimals, never "-0.000"."""
    return f"{round(value, digits) + 0.0:.{digits}f}"


def _settings(settings: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in settings.items())
