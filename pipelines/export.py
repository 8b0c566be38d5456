"""Export a training run's generator as a TF-Hub-format SavedModel, in TensorFlow Serving's
layout (EXPORT/<version>/, the next integer version).

  python -m pipelines.export --run_dir=runs/train --export_dir=runs/export

The serving signature takes raw sentences; see storyvis_tf.export.savedmodel.
"""
import os

from absl import app, flags

from pipelines import cli
from storyvis_tf.export.savedmodel import export_generator, read_export_manifest

_RUN_DIR = flags.DEFINE_string("run_dir", None, "Output directory of pipelines.train.")
_EXPORT_DIR = flags.DEFINE_string("export_dir", None,
                                  "Model directory; the SavedModel goes to EXPORT/<version>/.")


@cli.one_line_errors
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _RUN_DIR.value:
        raise app.UsageError("--run_dir is required: the output directory of pipelines.train")
    if not os.path.isdir(_RUN_DIR.value):
        raise app.UsageError(f"--run_dir {_RUN_DIR.value} does not exist")
    if not _EXPORT_DIR.value:
        raise app.UsageError("--export_dir is required: the model directory the version goes to")
    if os.path.exists(_EXPORT_DIR.value) and not os.path.isdir(_EXPORT_DIR.value):
        raise app.UsageError(f"--export_dir {_EXPORT_DIR.value} exists and is not a directory")
    try:
        version_dir = export_generator(_RUN_DIR.value, _EXPORT_DIR.value)
    except (FileNotFoundError, ValueError) as error:  # an incomplete or inconsistent run
        cli.fail(str(error))
    print(signature_table(version_dir))


def signature_table(version_dir: str) -> str:
    """The exported signature, one line per input and output, with the model's sizes."""
    manifest = read_export_manifest(version_dir)
    sizes = {"frames": manifest["frames_per_story"], "H": manifest["image_size"],
             "W": manifest["image_size"]}
    signature = manifest["signature"]
    lines = [f"exported {version_dir} (training step {manifest['training']['step']}, "
             f"{manifest['vocab_size']} words, max_sentence_length "
             f"{manifest['max_sentence_length']})", f"signature {signature['name']}:"]
    for direction in ("inputs", "outputs"):
        for name, spec in signature[direction].items():
            shape = spec["shape"] if isinstance(spec["shape"], str) else (
                "[" + ", ".join(str(sizes.get(dim, dim)) for dim in spec["shape"]) + "]")
            default = f" (default {spec['default']})" if "default" in spec else ""
            lines.append(f"  {direction[:-1]:<6} {name:<13} {spec['dtype']:<6} {shape:<22} "
                         f"{spec.get('doc', '')}{default}")
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
