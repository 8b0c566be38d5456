"""What every stage CLI shares: flag parsing whose errors are one line (a mistyped
`--config.x.y` names the key and the nearest valid one instead of a 60-line traceback), the
config keys the user chose, and one-line errors for the library's named failures.

  app.run(main, flags_parser=cli.parse_flags)        (preprocess: cli.parse_known_flags)
  cli.chosen_keys()      dotted config keys set on the command line or by the config file
  cli.take_data_shape_from(config, data_dir)   data.image_size, frames_per_story and
                         max_sentence_length from the data's manifest unless chosen
  @cli.one_line_errors   main's StageDirectoryError, ResumeError, WeightsFileError,
                         DatasetFormatError -> "error: ..." on stderr, exit status 1
"""
import functools
import re
import sys

from absl import flags
from ml_collections import config_flags

from configs import default
from storyvis_tf.config_checks import take_data_shape, unknown_key_message
from storyvis_tf.data.errors import DatasetFormatError
from storyvis_tf.data.loader import read_manifest
from storyvis_tf.stage_dirs import StageDirectoryError
from storyvis_tf.training.resume import ResumeError
from storyvis_tf.weights_files import WeightsFileError

CONFIG_FLAG = "config"
NAMED_FAILURES = (StageDirectoryError, ResumeError, WeightsFileError, DatasetFormatError)


def fail(message: str) -> None:
    """Exits with status 1 after one line on stderr."""
    sys.stderr.write(f"error: {message}\n")
    sys.exit(1)


def parse_flags(argv: list[str], known_only: bool = False) -> list[str]:
    """absl's flag parsing (FLAGS(argv)), every error reported in one line."""
    try:
        return flags.FLAGS(argv, known_only=known_only)
    except flags.Error as error:
        fail(_config_key_problem(argv) or str(error))
    except (AttributeError, KeyError):  # ml_collections on an unknown --config.x.y
        problem = _config_key_problem(argv)
        if problem is None:
            raise
        fail(problem)


def parse_known_flags(argv: list[str]) -> list[str]:
    """parse_flags keeping the arguments no flag here defines (for Beam)."""
    return parse_flags(argv, known_only=True)


def chosen_keys(name: str = CONFIG_FLAG) -> set[str]:
    """Dotted keys ("data.image_size") given on the command line (--config.x.y) or set by the
    config file to another value than configs/default.py's: the values the user chose."""
    config, reference = flags.FLAGS[name].value, default.get_config()
    chosen = set(config_flags.get_override_values(flags.FLAGS[name]))
    for section, fields in config.items():
        if not hasattr(fields, "items") or section not in reference:
            continue
        chosen.update(f"{section}.{key}" for key, value in fields.items()
                      if key not in reference[section] or reference[section][key] != value)
    return chosen


def one_line_errors(main):
    """Decorates a stage's main: the library's named failures (NAMED_FAILURES) end the process
    with one line instead of a traceback."""
    @functools.wraps(main)
    def wrapped(argv):
        try:
            return main(argv)
        except NAMED_FAILURES as error:
            fail(str(error))
    return wrapped


def _config_key_problem(argv: list[str]) -> str | None:
    """The first --config.x.y of `argv` that names no key of the config, as one line."""
    if CONFIG_FLAG not in flags.FLAGS:
        return None
    path = next((match.group(1) for arg in argv
                 if (match := re.fullmatch(rf"--?{CONFIG_FLAG}=(.+)", arg))), None)
    flag = flags.FLAGS[CONFIG_FLAG]
    try:
        config = flag.parser.parse(path) if path else flag.default
    except Exception:  # the config file itself is broken: absl's message says how
        return None
    for arg in argv:
        match = re.fullmatch(rf"--?{CONFIG_FLAG}\.([\w.]+)(=.*)?", arg)
        message = match and unknown_key_message(config, match.group(1))
        if message:
            return f"--{CONFIG_FLAG}.{match.group(1)}: {message}"
    return None


def take_data_shape_from(config, data_dir: str):
    """`config` with the data keys the user did not choose (`chosen_keys`) taken from the
    manifest of the preprocessed `data_dir` (`config_checks.take_data_shape`), each change
    printed. Without a readable manifest the config is left alone: the stage's own check says
    what is wrong with the directory."""
    try:
        manifest = read_manifest(data_dir)
    except DatasetFormatError:
        return config
    changed = take_data_shape(config, manifest, chosen_keys())
    if changed:
        print(f"from {data_dir}'s manifest (override with --config.data.<key>): "
              + ", ".join(changed))
    return config
