"""Studies: the row and pretraining keys, row configs and study checks, the aggregation over
seeds, and the smoke study end to end (files written, finished work reused on a rerun)."""
import csv
import dataclasses
import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from configs import smoke
from configs.ablations import LOSS_TERMS
from storyvis_tf.json_files import write_json
from storyvis_tf.study import keys, report, runner, stages
from storyvis_tf.study.spec import (Row, Study, StudyError, at_shared_seed, check_study,
                                    load_study, row_config)
from tests.pipeline_cli import REPO, run_pipeline

SMOKE_STUDY = "configs/studies/smoke.py"


@pytest.fixture(autouse=True)
def _in_repository_root(monkeypatch):
    monkeypatch.chdir(REPO)   # studies name experiment configs relative to it


def tiny_study(**changes) -> Study:
    study = Study(name="t", rows=(Row("a", "configs/smoke.py"),
                                  Row("b", "configs/smoke.py", {"losses.cluster": False},
                                      seeds=(3, 4))),
                  train_steps=4, steps_per_epoch=2, seeds=(1,), data={"image_size": 32},
                  train={"jit_compile": False}, evaluation={"num_samples": 2})
    return dataclasses.replace(study, **changes)


def test_row_config_applies_overrides_study_settings_budget_and_seed():
    study = tiny_study()
    config = row_config(study, study.rows[1], 4)
    assert config.losses.cluster is False and config.losses.region_word is True
    assert (config.train.epochs, config.train.steps_per_epoch) == (2, 2)
    assert config.seed == 4 and config.eval.num_samples == 2
    assert config.train.jit_compile is False
    assert row_config(tiny_study(train={"jit_compile": True}), study.rows[1], 4).train.jit_compile
    assert at_shared_seed(study, config).seed == study.shared_seed and config.seed == 4
    assert [study.seeds_of(row) for row in study.rows] == [(1,), (3, 4)]


@pytest.mark.parametrize("row, message", [
    (Row("x", "configs/smoke.py", {"losses.clustr": True}), "did you mean losses.cluster"),
    (Row("x", "configs/smoke.py", {"lossez.cluster": True}), "did you mean losses"),
    (Row("x", "configs/smoke.py", {"losses.cluster": "yes"}), "losses.cluster = 'yes'"),
    (Row("x", "configs/smoke.py", {"train.epochs": 3}), "overrides train.epochs"),
    (Row("x", "configs/no_such_config.py"), "no_such_config.py does not exist"),
])
def test_bad_rows_are_refused_by_name(row, message):
    with pytest.raises(StudyError, match=message):
        row_config(tiny_study(), row, 0)


@pytest.mark.parametrize("train, message", [
    ({"jit_compil": True}, "did you mean train.jit_compile"),
    ({"steps_per_epoch": 5}, "overrides train.steps_per_epoch"),
])
def test_bad_study_train_settings_are_refused(train, message):
    with pytest.raises(StudyError, match=message):
        check_study(tiny_study(train=train), "study.py")


@pytest.mark.parametrize("changes, message", [
    ({"rows": ()}, "no rows"),
    ({"train_steps": 5}, r"multiple of steps_per_epoch \(2\)"),
    ({"rows": (Row("a", "configs/smoke.py"), Row("a", "configs/smoke.py"))}, "repeated: a"),
    ({"rows": (Row("a", "configs/smoke.py", seeds=()),)}, "distinct seeds"),
    ({"rows": (Row("a", "configs/smoke.py"),
               Row("b", "configs/smoke.py", {"data.max_sentence_length": 9}))},
     "differ in data.max_sentence_length"),
    ({"rows": (Row("a", "configs/smoke.py", {"generator.use_character_labels": True}),)},
     "use_character_labels"),
])
def test_studies_that_cannot_run_are_refused_before_any_work(changes, message):
    with pytest.raises(StudyError, match=message):
        check_study(tiny_study(**changes), "study.py")


def test_smoke_study_file_loads():
    study = load_study(SMOKE_STUDY)
    assert [row.name for row in study.rows] == ["baseline", "full"]


def test_table3_rows_still_resolve_to_the_runs_committed_under_results():
    """The committed results of configs/studies/table3.py stay the results of that file: a
    change to a config a row is built from must not change the row (pin it in the study)."""
    units = runner.plan_units(load_study("configs/studies/table3.py"))
    assert len(units) == 19
    for unit in units:
        with open(os.path.join(REPO, "results", "study_table3",
                               f"{unit.row}_seed{unit.seed}.json")) as file:
            recorded = json.load(file)
        assert (recorded["key"], recorded["pretrain_key"]) == (unit.key, unit.pretrain_key), (
            unit.row, unit.seed)


def test_row_key_follows_the_resolved_config_but_not_paths():
    study = tiny_study()
    config = row_config(study, study.rows[0], 1)
    pretrain = keys.pretrain_key(at_shared_seed(study, config))
    evaluation = {"split": "test", "shared_seed": 0}
    key = keys.row_key(config, pretrain, evaluation)
    assert keys.row_key(row_config(study, study.rows[0], 1), pretrain, evaluation) == key

    moved = row_config(study, study.rows[0], 1)
    moved.train.pretrained_dir, moved.eval.statistics_cache_dir = "/elsewhere", "/cache"
    assert keys.row_key(moved, pretrain, evaluation) == key
    for change in ("seed", "train", "eval"):
        other = row_config(study, study.rows[0], 1)
        if change == "seed":
            other.seed = 2
        elif change == "train":
            other.train.generator_learning_rate *= 2
        else:
            other.eval.num_samples = 3
        assert keys.row_key(other, pretrain, evaluation) != key, change
    assert keys.row_key(config, "another pretraining", evaluation) != key
    assert keys.row_key(config, pretrain, {**evaluation, "split": "val"}) != key


def test_pretrain_key_follows_what_pretraining_reads():
    base = smoke.get_config()
    key = keys.pretrain_key(base)
    for field, value in (("train.generator_learning_rate", 1.0), ("generator.noise_dim", 3),
                         ("losses.cluster", False), ("losses.region_word", False)):
        other = smoke.get_config()
        section, name = field.split(".")
        other[section][name] = value
        assert keys.pretrain_key(other) == key, field   # damsm reads none of these
    for field, value in (("pretrain.epochs", 2), ("text_encoder.hidden_dim", 8),
                         ("clustering.k", 3), ("losses.story_image", "pixel_mean"),
                         ("data.image_size", 64)):
        other = smoke.get_config()
        section, name = field.split(".")
        other[section][name] = value
        assert keys.pretrain_key(other) != key, field
    other = smoke.get_config()
    other.seed = 1
    assert keys.pretrain_key(other) != key
    eq6, eq6_other = smoke.get_config(), smoke.get_config()
    eq6.pretrain.objective = eq6_other.pretrain.objective = "eq6"
    eq6_other.losses.cluster = False
    assert keys.pretrain_key(eq6) != keys.pretrain_key(eq6_other)


def _result(row, seed, f1, cosine, step=None, wall=60.0, parameters=None):
    return {"row": row, "seed": seed, "key": f"{row}{seed}", "label_uses": [],
            "metrics": {"character_f1": f1, "cosine": cosine}, "parameters": parameters,
            "step_time_s": step, "train_wall_s": wall, "eval_wall_s": 1.0,
            "baselines": {"label_prior": {"character_f1": 0.1, "frame_accuracy": 0.2,
                                          "predicts": ["Pip"]},
                          "chance": {"r_precision": 0.0125}},
            "not_computed": {}}


def test_summaries_give_mean_and_spread_over_each_rows_seeds():
    results = [_result("a", 0, 0.4, 10.0, step=0.5), _result("b", 0, 0.9, 30.0),
               _result("a", 1, 0.2, 20.0, step=0.7, parameters={"generator": 5})]
    a, b = report.summarize(results)
    assert (a["row"], a["seeds"], b["row"]) == ("a", [0, 1], "b")
    f1 = a["metrics"]["character_f1"]
    assert (f1["mean"], f1["min"], f1["max"], f1["values"]) == (pytest.approx(0.3), 0.2, 0.4,
                                                                [0.4, 0.2])
    assert f1["std"] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert a["step_time_s"] == pytest.approx(0.6) and a["parameters"] == {"generator": 5}
    assert b["metrics"]["cosine"]["std"] == 0.0 and b["step_time_s"] is None
    assert "fid_domain" not in a["metrics"]

    markdown = report.results_markdown(tiny_study(), "s.py", results, "python -m x")
    assert "| a | no | 0, 1 | 0.300 (0.200–0.400) | 15.0 (10.0–20.0) |" in markdown
    assert "| b | no | 0 | 0.900 | 30.0 |" in markdown
    assert "predicts for every frame the characters of at least half the training frames: Pip" \
        in markdown and "chance): 0.0125" in markdown
    lines = list(csv.DictReader(report.results_csv(results).splitlines()))
    assert [(line["row"], line["seed"], line["character_f1"]) for line in lines] == [
        ("a", "0", "0.4"), ("b", "0", "0.9"), ("a", "1", "0.2")]


def test_runner_pretrains_once_per_encoder_config_and_runs_each_key_once(tmp_path,
                                                                         monkeypatch):
    """The orchestration with the units' work replaced by fakes: rows with identical resolved
    configs share one run (each under its own name), encoders are pretrained once per key,
    and a rerun runs nothing."""
    study = tiny_study(rows=(
        Row("a", "configs/smoke.py", seeds=(0, 1)),
        Row("same as a", "configs/smoke.py", seeds=(1,)),
        Row("other encoders", "configs/smoke.py", {"pretrain.epochs": 2})))
    started = []

    def fake_process(what, function, *args):
        if function is stages.pretrain_encoders:
            started.append(("pretrain", args[2]))
            os.makedirs(args[2])
            open(os.path.join(args[2], "manifest.json"), "w").close()
            return None
        work = args[0]
        started.append(("row", work["result"]["row"], work["result"]["seed"]))
        os.makedirs(work["row_dir"])
        np.savez(os.path.join(work["row_dir"], stages.COMPARISON),
                 generated=np.zeros((2, 5, 8, 8, 3), np.uint8),
                 real=np.zeros((2, 5, 8, 8, 3), np.uint8), sentences=np.full((2, 5), "s"),
                 story_ids=np.array(["x", "y"]), seeds=np.arange(2))
        result = {**_result(work["result"]["row"], work["result"]["seed"], 0.5, 1.0),
                  **work["result"]}
        write_json(os.path.join(work["row_dir"], stages.RESULT), result)
        return result

    monkeypatch.setattr(runner, "_in_fresh_process", fake_process)
    monkeypatch.setattr(runner, "_preprocess", lambda *args: None)
    results = runner.run_study(study, "s.py", str(tmp_path), log=lambda message: None)
    assert [kind for kind, *_ in started].count("pretrain") == 2
    # Seed-major (plan_units): a's second seed comes last and reuses "same as a"'s run.
    assert [entry for entry in started if entry[0] == "row"] == [
        ("row", "a", 0), ("row", "same as a", 1), ("row", "other encoders", 1)]
    assert [(result["row"], result["seed"]) for result in results] == [
        ("a", 0), ("same as a", 1), ("other encoders", 1), ("a", 1)]
    assert results[1]["key"] == results[3]["key"]
    assert os.path.exists(tmp_path / "comparison.png") and os.path.exists(tmp_path / "metrics.png")

    started.clear()
    runner.run_study(study, "s.py", str(tmp_path), log=lambda message: None)
    assert started == []


def test_bar_chart_draws_each_mean_to_scale_and_the_reference_line():
    from storyvis_tf import charts
    picture = charts.bar_chart({"a": [0.25, 0.75], "b": [1.0], "c": []}, "t", reference=0.25,
                               width=460)
    # Names take 150 pixels, the scale [0, 1] runs to 460 - 50: x(v) = 150 + 260 v.
    bar = tuple(picture[30, 270])
    assert bar != (255, 255, 255) and tuple(picture[30, 290]) == (255, 255, 255)  # a: mean 0.5
    assert tuple(picture[54, 400]) == bar                                           # b: 1.0
    assert tuple(picture[80, 200]) == (255, 255, 255)                               # c: none
    assert (picture[:, 215] == charts.PALETTE[3]).all(axis=-1).any()                # 0.25


@pytest.mark.slow
def test_damsm_pretraining_does_not_read_the_alignment_switches(tmp_path):
    """The pretraining key's premise: damsm rows that differ in losses' contrastive and
    clustering switches pretrain bit-identical encoders (so they may share them)."""
    from storyvis_tf.data.preprocess import run_preprocess
    from storyvis_tf.training import pretrained
    from storyvis_tf.training.pretrain import run_pretrain

    config = smoke.get_config()
    config.pretrain.r_precision_candidates = 4
    run_preprocess("synthetic", "", str(tmp_path / "data"), 32, config=config)
    switched = smoke.get_config()
    switched.pretrain.r_precision_candidates = 4
    for term in LOSS_TERMS:
        switched.losses[term] = False
    assert keys.pretrain_key(switched) == keys.pretrain_key(config)
    arrays = []
    for name, run_config in (("on", config), ("off", switched)):
        run_pretrain(run_config, str(tmp_path / "data"), str(tmp_path / name), verbose=0)
        loaded = pretrained.load_pretrained(str(tmp_path / name), run_config)
        arrays.append([np.load(tmp_path / name / pretrained.CENTROIDS),
                       *(weight for network in pretrained.ENCODER_WEIGHTS
                         for weight in loaded[network].get_weights())])
    assert len(arrays[0]) == len(arrays[1]) > 4
    for on, off in zip(*arrays):
        np.testing.assert_array_equal(on, off)


@pytest.mark.slow
def test_smoke_study_end_to_end_then_reused(tmp_path, monkeypatch):
    output = tmp_path / "study"
    completed = run_pipeline("study", f"--study={SMOKE_STUDY}", f"--output_dir={output}",
                             timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "row 2/2 'full' seed 0: done" in completed.stdout

    assert len(os.listdir(output / runner.PRETRAIN_DIR)) == 1   # both rows: one encoder config
    lines = list(csv.DictReader(open(output / report.RESULTS_CSV)))
    assert [(line["row"], line["seed"]) for line in lines] == [("baseline", "0"), ("full", "0")]
    for line in lines:
        for metric in ("character_f1", "frame_accuracy", "fid_domain", "fsd_domain", "cosine",
                       "r_precision", "generator_params", "step_time_s", "train_wall_s"):
            assert np.isfinite(float(line[metric])), (line["row"], metric)
    markdown = open(output / report.RESULTS_MD).read()
    assert "| baseline | no | 0 |" in markdown and "| full | no | 0 |" in markdown
    assert "Label-prior baseline" in markdown and f"--output_dir={output}" in markdown
    comparison = Image.open(output / "comparison.png")
    metrics = Image.open(output / "metrics.png")
    # 2 stories x (real + 2 rows) lines of 5 frames enlarged to 128 pixels; 6 metric panels.
    assert comparison.width > 5 * 128 and comparison.height > 6 * 128
    assert metrics.width > 2 * metrics.height / 3

    # A rerun finds every unit finished: no process is started, the report is rewritten.
    def no_process(what, *args):
        raise AssertionError(f"a finished unit was run again: {what}")
    monkeypatch.setattr(runner, "_in_fresh_process", no_process)
    os.remove(output / report.RESULTS_MD)
    logs = []
    results = runner.run_study(load_study(SMOKE_STUDY), SMOKE_STUDY, str(output),
                               log=logs.append)
    assert [result["row"] for result in results] == ["baseline", "full"]
    assert os.path.exists(output / report.RESULTS_MD)
    assert list(csv.DictReader(open(output / report.RESULTS_CSV))) == lines


def test_units_run_every_rows_first_seed_before_any_second_seed():
    """A sitting that stops early leaves one seed of every row, not every seed of a few."""
    from storyvis_tf.study.runner import plan_units

    units = plan_units(tiny_study(rows=(Row("two seeds", "configs/smoke.py", seeds=(0, 1)),
                                        Row("one seed", "configs/smoke.py",
                                            {"pretrain.epochs": 2}, seeds=(0,)))))
    assert [(unit.row, unit.seed) for unit in units] == [
        ("two seeds", 0), ("one seed", 0), ("two seeds", 1)]
    assert [unit.index for unit in units] == [0, 1, 2]


def write_pid_and_wait(path: str) -> None:
    """A study worker's stand-in: writes its process id to `path`, then waits to be ended."""
    import time

    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(120)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\nState:\tZ" not in status.read()
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux",
                    reason="the study ties its workers to it by Linux prctl(PR_SET_PDEATHSIG); "
                           "elsewhere _end_with_parent is a no-op")
def test_a_study_worker_ends_with_the_study(tmp_path):
    """Killing the study ends its worker too, so a rerun never resumes a run directory that a
    stray worker is still training."""
    import subprocess
    import time

    pid_file = tmp_path / "worker.pid"
    study = subprocess.Popen(
        [sys.executable, "-c", "from storyvis_tf.study import runner; "
         "from tests.test_study import write_pid_and_wait; "
         f"runner._in_fresh_process('a worker', write_pid_and_wait, {str(pid_file)!r})"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    deadline = time.monotonic() + 120
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and study.poll() is None, "the worker never started"
        time.sleep(0.5)
    worker = int(pid_file.read_text())
    study.kill()
    study.wait()
    deadline = time.monotonic() + 30
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _running(worker)
