"""What kind of pipeline directory a path holds, so that no stage takes another stage's
directory for its own (and `--overwrite` never deletes one).

Every stage directory names its kind: in its manifest (`manifest.json`, written when the stage
finishes; an export version's is `assets/manifest.json`) and, from the moment a stage starts
writing, in `stage.json` ({"kind": ...}), so an interrupted run is recognised too. An export's
model directory (EXPORT, holding EXPORT/<version>/) and an evaluation's directory (its
`metrics.json`) are recognised by those files. Paths may be local or any `tf.io.gfile` URL.

  directory_kind(path)                  -> (kind or None, the file that says so)
  check_stage_directory(path, kind, flag)  StageDirectoryError when path is another kind's
  claim_stage_directory(path, kind)     creates path and writes its stage.json
  check_writable(path, what)            StageDirectoryError when path cannot be written
"""
import json
import os
import uuid

import tensorflow as tf

# The kinds and their words, importable from here too (defined in stage_kinds, which needs no
# TensorFlow).
from storyvis_tf.stage_kinds import (DATA_KIND, EVALUATION_KIND, EXPORT_KIND,  # noqa: F401
                                     EXPORTS_KIND, KINDS, PRETRAIN_KIND, RUN_KIND, describe)

MANIFEST, STAGE_FILE, METRICS = "manifest.json", "stage.json", "metrics.json"
EXPORT_MANIFEST = os.path.join("assets", MANIFEST)


class StageDirectoryError(ValueError):
    """A directory of another stage (or an unwritable one) was given; names what was found."""


def directory_kind(path: str) -> tuple[str | None, str | None]:
    """(kind, evidence): the kind of stage directory at `path` and the file that says so, or
    (None, None) for a missing directory or one no stage has written.

    A preprocessing manifest written before manifests carried a kind is recognised by its
    `splits` and `vocab_sha256`.
    """
    if not tf.io.gfile.isdir(path):
        return None, None
    for name in (MANIFEST, STAGE_FILE, EXPORT_MANIFEST):
        evidence = os.path.join(path, name)
        if tf.io.gfile.exists(evidence):
            content = _read_json_object(evidence)
            kind = content.get("kind")
            if kind is None and {"splits", "vocab_sha256"} <= content.keys():
                kind = DATA_KIND
            return kind or "", evidence
    if tf.io.gfile.exists(os.path.join(path, METRICS)):
        return EVALUATION_KIND, os.path.join(path, METRICS)
    for name in tf.io.gfile.listdir(path):
        version = os.path.join(path, name.rstrip("/"))
        if name.rstrip("/").isdigit() and tf.io.gfile.exists(
                os.path.join(version, EXPORT_MANIFEST)):
            return EXPORTS_KIND, os.path.join(version, EXPORT_MANIFEST)
    return None, None


def check_stage_directory(path: str, kind: str, flag: str = "--output_dir") -> None:
    """Raises StageDirectoryError when `path` holds a directory of another kind than `kind`
    (a missing or unclaimed directory passes). `flag` names the argument in the message."""
    found, evidence = directory_kind(path)
    if found is not None and found != kind:
        raise StageDirectoryError(
            f"{flag} {path} holds {describe(found)} ({evidence}), not {describe(kind)}: choose "
            "another directory (--overwrite never replaces another stage's directory)")


def claim_stage_directory(path: str, kind: str) -> None:
    """Creates `path` (after `check_stage_directory`) and records its kind in stage.json."""
    check_stage_directory(path, kind)
    tf.io.gfile.makedirs(path)
    marker = os.path.join(path, STAGE_FILE)
    if not tf.io.gfile.exists(marker):
        with tf.io.gfile.GFile(marker, "w") as f:
            f.write(json.dumps({"kind": kind}) + "\n")


def check_writable(path: str, what: str) -> None:
    """Creates directory `path` if needed and writes and removes a probe file in it; raises
    StageDirectoryError naming `what` (e.g. "--output_dir") when that fails."""
    probe = os.path.join(path, f".write-probe-{uuid.uuid4().hex}")
    try:
        tf.io.gfile.makedirs(path)
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("")
        tf.io.gfile.remove(probe)
    except (OSError, tf.errors.OpError) as error:
        message = getattr(error, "message", None) or getattr(error, "strerror", None) or error
        raise StageDirectoryError(f"{what} {path} cannot be written ({message})") from None


def _read_json_object(path: str) -> dict:
    try:
        with tf.io.gfile.GFile(path) as f:
            content = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise StageDirectoryError(f"{path} is not valid JSON ({error}): cannot tell which "
                                  "stage wrote its directory") from None
    if not isinstance(content, dict):
        raise StageDirectoryError(f"{path} must hold a JSON object, got "
                                  f"{type(content).__name__}")
    return content
