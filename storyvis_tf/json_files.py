"""JSON files of the pipeline's artifacts (configs, manifests, metrics): written atomically, so a
stage interrupted mid-write never leaves a half-written manifest for the next stage to trust."""
import json
import os


def write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)


def read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
