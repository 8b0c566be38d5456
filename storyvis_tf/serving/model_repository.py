"""The versions of one model, kept in step with its base path as TensorFlow Serving keeps them.

`ModelRepository(name, base_path, load, unload)` serves the integer-named version directories of
`base_path` (EXPORT/<version>/ holding saved_model.pb; others are ignored, as are directories
without saved_model.pb yet, e.g. a copy in progress). `poll()` loads each new version with
`load(version_dir)` and unloads with `unload(servable)` each version whose directory went away or
that fell out of the newest `num_versions` (0: all). `start_polling(wait_s)` polls on a thread
every `wait_s` seconds, so a new export is served without a restart (TF Serving's
--file_system_poll_wait_seconds).

`servable(version)` gives the newest available version for None, else that version; an unknown
model or version is a NOT_FOUND with TF Serving's message. `version_status(version)` is TF
Serving's GetModelStatusResponse: one {"version", "state", "status"} per known version, state
LOADING, AVAILABLE, UNLOADING or END (unloaded, or failed to load: then status names the error).
"""
import dataclasses
import logging
import os
import threading
from typing import Any, Callable

from storyvis_tf.serving.errors import ServingError

SAVED_MODEL_FILE = "saved_model.pb"


@dataclasses.dataclass
class _Version:
    state: str
    servable: Any = None
    error: str = ""


class ModelRepository:
    """The served versions of model `name` (see the module docstring)."""

    def __init__(self, name: str, base_path: str, load: Callable[[str], Any],
                 unload: Callable[[Any], None], num_versions: int = 0):
        if not os.path.isdir(base_path):
            raise FileNotFoundError(f"model base path {base_path} is not a directory (give the "
                                    "--export_dir of `python -m pipelines.export`)")
        if os.path.isfile(os.path.join(base_path, SAVED_MODEL_FILE)):
            raise ValueError(f"{base_path} is one version of a model (it holds {SAVED_MODEL_FILE}): "
                             "give the model base path above it, which holds <version>/ "
                             "directories")
        if num_versions < 0:
            raise ValueError(f"num_versions must be >= 0 (0: every version), got {num_versions}")
        self.name = name
        self.base_path = base_path
        self._load, self._unload = load, unload
        self._num_versions = num_versions
        self._versions: dict[int, _Version] = {}
        self._lock = threading.Lock()
        self._polling_lock = threading.Lock()   # one poll at a time
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def on_disk(self) -> list[int]:
        """The version numbers to serve now: complete version directories, newest num_versions."""
        try:
            names = os.listdir(self.base_path)
        except FileNotFoundError:
            return []
        versions = sorted(int(name) for name in names if name.isdigit() and os.path.isfile(
            os.path.join(self.base_path, name, SAVED_MODEL_FILE)))
        return versions[-self._num_versions:] if self._num_versions else versions

    def poll(self) -> None:
        """Loads new versions (oldest first) and unloads departed ones."""
        with self._polling_lock:
            wanted = self.on_disk()
            with self._lock:
                departed = [(v, entry) for v, entry in self._versions.items()
                            if v not in wanted and entry.state == "AVAILABLE"]
                arrived = [v for v in wanted if v not in self._versions
                           or self._versions[v].state == "END" and not self._versions[v].error]
                for version, entry in departed:
                    entry.state = "UNLOADING"
                for version in arrived:
                    self._versions[version] = _Version("LOADING")
            for version, entry in departed:
                self._unload(entry.servable)
                with self._lock:
                    entry.state, entry.servable = "END", None
                logging.info("unloaded version %d of model %s", version, self.name)
            for version in arrived:
                self._load_version(version)

    def _load_version(self, version: int) -> None:
        version_dir = os.path.join(self.base_path, str(version))
        try:
            servable = self._load(version_dir)
        except Exception as error:  # a broken version must not stop the others being served
            logging.error("version %d of model %s failed to load: %s", version, self.name, error)
            with self._lock:
                self._versions[version] = _Version("END", error=f"{type(error).__name__}: "
                                                                f"{error}")
            return
        with self._lock:
            self._versions[version] = _Version("AVAILABLE", servable)
        logging.info("serving version %d of model %s from %s", version, self.name, version_dir)

    def start_polling(self, wait_s: float) -> None:
        """Polls every `wait_s` seconds on a daemon thread until `stop`."""
        def poll_until_stopped():
            while not self._stop.wait(wait_s):
                self.poll()

        self._poller = threading.Thread(target=poll_until_stopped, name="model-poller",
                                        daemon=True)
        self._poller.start()

    def stop(self) -> None:
        """Stops polling and unloads every version."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        with self._polling_lock, self._lock:
            servables = [entry.servable for entry in self._versions.values()
                         if entry.state == "AVAILABLE"]
            self._versions.clear()
        for servable in servables:
            self._unload(servable)

    def servable(self, version: int | None) -> tuple[int, Any]:
        """(version number, servable) of `version`, the newest available one for None."""
        with self._lock:
            available = sorted(v for v, entry in self._versions.items()
                               if entry.state == "AVAILABLE")
            if version is None:
                if not available:
                    raise ServingError("NOT_FOUND", f"Servable not found for request: "
                                                    f"Latest({self.name})")
                version = available[-1]
            elif version not in available:
                raise ServingError("NOT_FOUND", f"Servable not found for request: Specific("
                                                f"{self.name}, {version}) (available versions: "
                                                f"{_listed(available)})")
            return version, self._versions[version].servable

    def version_status(self, version: int | None) -> dict:
        """TF Serving's GetModelStatusResponse for all versions (None) or one."""
        with self._lock:
            if version is None:
                if not self._versions:
                    raise ServingError("NOT_FOUND", f"Could not find any versions of model "
                                                    f"{self.name}")
                versions = sorted(self._versions)
            elif version in self._versions:
                versions = [version]
            else:
                raise ServingError("NOT_FOUND", f"Could not find version {version} of model "
                                                f"{self.name}")
            return {"model_version_status": [
                {"version": str(v), "state": self._versions[v].state,
                 "status": {"error_code": "UNKNOWN" if self._versions[v].error else "OK",
                            "error_message": self._versions[v].error}}
                for v in versions]}


def _listed(versions: list[int]) -> str:
    return ", ".join(map(str, versions)) or "none"
