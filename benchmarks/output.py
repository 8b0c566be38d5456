"""Where every benchmark's JSON result goes: one writer, so all results are written alike."""
import json
import os


def write_result(path: str, result: dict) -> None:
    """Writes `result` to `path` as indented UTF-8 JSON, creating its directory; values JSON
    cannot hold (paths, dtypes) are written as their str()."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, default=str)
