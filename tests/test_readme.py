"""The README stays a landing page whose figures come from files: at most 15 KB, every relative
link of it and of the results and notes pages resolves inside the repository, its config
table's label column is what `label_use.ground_truth_label_uses` says, and each train-step cost
it quotes is the median of the result file it links."""
import glob
import importlib
import json
import os
import re

from storyvis_tf.label_use import ground_truth_label_uses

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
PAGES = [README] + [os.path.join(ROOT, "docs", name) for name in
                    ("RESULTS.md", "REPRODUCTION_NOTES.md", "PAPER_MAP.md", "PIPELINE.md")]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def broken_links(page: str) -> list[str]:
    """Relative links of the Markdown file `page` that leave the repository or name no file."""
    broken = []
    for target in LINK.findall(read(page)):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = os.path.normpath(os.path.join(os.path.dirname(page), target.split("#")[0]))
        if not path.startswith(ROOT + os.sep) or not os.path.exists(path):
            broken.append(f"{os.path.relpath(page, ROOT)}: {target}")
    return broken


def config_rows(markdown: str) -> list[list[str]]:
    """The cells of every table row whose first cell names a config file or folder."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in markdown.splitlines() if line.startswith("| `configs/")]


def label_cell(config_paths: list[str]) -> str:
    """What the labels column says for configs at `config_paths`: "no", or "yes: " and the
    label-reading switches of the one config."""
    uses = [ground_truth_label_uses(importlib.import_module(
        os.path.splitext(path)[0].replace("/", ".")).get_config()) for path in config_paths]
    if not any(uses):
        return "no"
    assert len(uses) == 1, f"{config_paths}: a folder row cannot list one config's switches"
    return "yes: " + ", ".join(uses[0])


def configs_of(cell: str) -> list[str]:
    """The config files a first cell names: the file, or every experiment file of a folder."""
    path = cell.strip("`")
    if path.endswith("/"):
        return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, path, "*.py"))
                      if not p.endswith("__init__.py"))
    return [path]


def test_readme_is_a_landing_page_of_at_most_15_kb():
    assert os.path.getsize(README) <= 15_000


def test_links_stay_inside_the_repository_and_resolve():
    assert [link for page in PAGES for link in broken_links(page)] == []


def test_config_table_label_column_follows_label_use():
    rows = [row for row in config_rows(read(README)) if not row[0].startswith("`configs/studies/")]
    assert len(rows) >= 10
    for row in rows:
        assert row[2] == label_cell(configs_of(row[0])), row[0]


def test_quoted_train_step_costs_are_their_files_medians():
    """"X s/step ([file](F))" is F's median wall seconds (benchmarks.train_step_throughput);
    "X CPU-s/step ([file](F))" its median process-CPU seconds as configured
    (benchmarks.train_step_breakdown)."""
    quoted = 0
    for row in config_rows(read(README)):
        for seconds, kind, target in re.findall(
                r"([\d.]+) (CPU-s|s)/step \(\[file\]\(([^)]+)\)\)", row[3]):
            result = json.loads(read(os.path.join(ROOT, target)))
            median = (result["variants"]["as_configured"]["median_process_cpu_s"]
                      if kind == "CPU-s" else result["train_step"]["median_s"])
            assert float(seconds) == round(median, 2), target
            quoted += 1
    assert quoted > 0
