"""Run a study: rows of experiment configs x seeds at one step budget, end to end, into one
table (docs/STUDY.md).

  python -m pipelines.study --study=configs/studies/smoke.py --output_dir=runs/study_smoke

Preprocesses once, pretrains the encoders once per encoder config, then trains, exports and
evaluates every (row, seed), and writes OUTPUT/results.md, results.csv, comparison.png and
metrics.png. Rerunning the command resumes: finished rows are reused, an interrupted training
continues from its checkpoints. See storyvis_tf.study.
"""
import shlex
import sys

from absl import app, flags

from pipelines import cli
from storyvis_tf.study.runner import StudyRunError, run_study
from storyvis_tf.study.spec import StudyError, load_study

_STUDY = flags.DEFINE_string("study", None, "Study file (Python with get_study()), e.g. "
                             "configs/studies/smoke.py.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Directory of the study's work and "
                                  "report (rerun with the same one to resume).")


@cli.one_line_errors
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name, flag in (("study", _STUDY), ("output_dir", _OUTPUT_DIR)):
        if not flag.value:
            raise app.UsageError(f"--{name} is required")
    try:
        study = load_study(_STUDY.value)
        run_study(study, _STUDY.value, _OUTPUT_DIR.value,
                  command=shlex.join(["python", "-m", "pipelines.study", *sys.argv[1:]]))
    except (StudyError, StudyRunError) as error:
        cli.fail(str(error))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
