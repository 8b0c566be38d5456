"""TensorFlow Serving's REST API (api_rest.md) over a ModelRepository of StoryModels.

`RestApi(repository, max_stories_per_request).handle(method, path, body)` answers
(HTTP status, JSON bytes) for:

  GET  /v1/models/{name}[/versions/{v}]           model status (GetModelStatusResponse)
  GET  /v1/models/{name}[/versions/{v}]/metadata  the SignatureDefs (GetModelMetadataResponse)
  POST /v1/models/{name}[/versions/{v}]:predict   {"signature_name"?, "instances" | "inputs"}

Predict bodies follow TF Serving: `instances` (row format: a non-empty list with one object per
story, keyed by input name) answered with `predictions` (one object per story, keyed by output
name), or `inputs` (columnar: an object of whole tensors) answered with `outputs`; tensors in
the JSON tensor format of json_tensors (the `images_bytes` PNGs as {"b64": ...}). One leniency:
an input with a default in the SignatureDef (the export's `seed`, default 0) may be left out, in
every instance or from `inputs`; TF Serving itself wants every input.

Errors are `{"error": message}` under TF Serving's status codes (errors.HTTP_STATUS), with its
messages where it has one: 400 for malformed JSON, both or neither of instances/inputs, a
value of the wrong type or shape, a request the story checks refuse (story_requests), a path
or method the API does not have ("Malformed request: GET /v1/models/m:predict"); 404 for an
unknown model or version; 503 when the version's batching queue is full.
"""
import asyncio
import logging
import re

import numpy as np
import orjson

from storyvis_tf.serving.errors import ServingError, invalid_argument
from storyvis_tf.serving.json_tensors import json_from_tensor, shown, tensor_from_json
from storyvis_tf.serving.model_repository import ModelRepository
from storyvis_tf.serving.story_requests import story_inputs

_MODEL_PATH = r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?"
_STATUS = re.compile(_MODEL_PATH + r"(?P<metadata>/metadata)?", re.IGNORECASE)
_PREDICT = re.compile(_MODEL_PATH + r":(?P<verb>predict|classify|regress)", re.IGNORECASE)
_JSON = orjson.OPT_SERIALIZE_NUMPY


class RestApi:
    """TF Serving's REST API for one model (see the module docstring)."""

    def __init__(self, repository: ModelRepository, max_stories_per_request: int):
        self._repository = repository
        self._max_stories = max_stories_per_request

    async def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, JSON body) of one request."""
        try:
            return 200, orjson.dumps(await self._answer(method, path, body), option=_JSON)
        except ServingError as error:
            return error.http_status, orjson.dumps({"error": error.message})
        except Exception as error:  # answered as TF Serving's INTERNAL; the server goes on
            logging.exception("%s %s failed", method, path)
            return 500, orjson.dumps({"error": f"{type(error).__name__}: {error}"})

    async def _answer(self, method: str, path: str, body: bytes) -> dict:
        if method == "POST" and (match := _PREDICT.fullmatch(path)):
            if match["verb"].lower() != "predict":
                raise invalid_argument(f"this model has no {match['verb']} signature (its "
                                       "serving_default is a predict signature): use :predict")
            return await self._predict(match["name"], _version(match), body)
        if method == "GET" and (match := _STATUS.fullmatch(path)):
            version = _version(match)
            if match["metadata"]:
                return self._metadata(match["name"], version)
            self._check_name(match["name"], f"Could not find any versions of model "
                                            f"{match['name']}")
            return self._repository.version_status(version)
        raise invalid_argument(f"Malformed request: {method} {path} (the API has GET "
                               "/v1/models/NAME[/versions/N][/metadata] and POST "
                               "/v1/models/NAME[/versions/N]:predict)")

    def _check_name(self, name: str, message: str) -> None:
        if name != self._repository.name:
            raise ServingError("NOT_FOUND", f"{message} (this server serves model "
                                            f"{self._repository.name})")

    def _served(self, name: str, version: int | None):
        self._check_name(name, "Servable not found for request: " + (
            f"Latest({name})" if version is None else f"Specific({name}, {version})"))
        return self._repository.servable(version)

    def _metadata(self, name: str, version: int | None) -> dict:
        version, model = self._served(name, version)
        return {"model_spec": {"name": name, "signature_name": "", "version": str(version)},
                "metadata": {"signature_def": {"signature_def": model.signature_defs}}}

    async def _predict(self, name: str, version: int | None, body: bytes) -> dict:
        document = _parse_json(body)
        signature_name = document.get("signature_name", "")
        if not isinstance(signature_name, str):
            raise invalid_argument(f"JSON Value: {shown(signature_name)} not formatted correctly. "
                                   "'signature_name' key must be a string value.")
        _, model = self._served(name, version)
        row_format, inputs = request_tensors(document, model.input_specs(signature_name))
        inputs = story_inputs(inputs, model.manifest, self._max_stories)
        stories = len(inputs["sentences"])
        outputs = await asyncio.wrap_future(model.predict(signature_name, inputs, stories))
        return predict_response(outputs, row_format)


def request_tensors(document: dict, specs: dict) -> tuple[bool, dict[str, np.ndarray]]:
    """(row format?, name -> array) of a predict body; `specs`: name -> (dtype, default or
    None) of the signature's inputs (StoryModel.input_specs)."""
    if "instances" in document and "inputs" in document:
        raise invalid_argument(f"JSON Value: {shown(document)} Not formatted correctly expecting "
                               "only one of 'inputs' or 'instances' keys to exist")
    if "instances" in document:
        return True, _row_tensors(document["instances"], specs)
    if "inputs" in document:
        return False, _columnar_tensors(document["inputs"], specs)
    raise invalid_argument("Missing 'inputs' or 'instances' key")


def predict_response(outputs: dict[str, np.ndarray], row_format: bool) -> dict:
    """`predictions` (one entry per row, an object when there are several outputs) or
    `outputs` (whole tensors) in the JSON tensor format."""
    if not row_format:
        values = {name: json_from_tensor(array, name) for name, array in outputs.items()}
        return {"outputs": values if len(values) > 1 else next(iter(values.values()))}
    rows = {len(array) for array in outputs.values()}
    if len(rows) != 1:
        raise ServingError("INTERNAL", "the outputs have different batch sizes "
                                       f"{sorted(rows)}; ask for the columnar format ('inputs')")
    predictions = [{name: json_from_tensor(array[i], name) for name, array in outputs.items()}
                   for i in range(rows.pop())]
    if len(outputs) == 1:
        predictions = [next(iter(row.values())) for row in predictions]
    return {"predictions": predictions}


def _version(match: re.Match) -> int | None:
    return int(match["version"]) if match["version"] else None


def _parse_json(body: bytes) -> dict:
    if not body.strip():
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise invalid_argument(f"JSON Parse error: {error}") from None
    if not isinstance(document, dict):
        raise invalid_argument(f"JSON Value: {shown(document)} Is not object")
    return document


def _is_tensor_object(value) -> bool:
    """A JSON object of named tensors, as opposed to a value or a {"b64": ...} string."""
    return isinstance(value, dict) and set(value) != {"b64"}


def _check_names(names, specs: dict, where: str) -> None:
    """Every name an input of the signature, every input without a default among the names."""
    unknown = sorted(set(names) - set(specs))
    if unknown:
        raise invalid_argument(f"JSON object: does not have named input: {unknown[0]} ({where}; "
                               f"the signature's inputs are {', '.join(sorted(specs))})")
    for name, (_, default) in specs.items():
        if name not in names and default is None:
            raise invalid_argument(f"Missing named input: {name} in {where}.")


def _defaults(specs: dict, given) -> dict[str, np.ndarray]:
    return {name: default for name, (_, default) in specs.items() if name not in given}


def _columnar_tensors(inputs, specs: dict) -> dict[str, np.ndarray]:
    if not _is_tensor_object(inputs):
        if len(specs) > 1:
            raise invalid_argument("inputs is a plain value/list, but expecting an object as "
                                   "multiple input tensors required as per tensorinfo_map "
                                   f"({', '.join(sorted(specs))})")
        inputs = {next(iter(specs)): inputs}
    _check_names(inputs, specs, "'inputs' object")
    return {**_defaults(specs, inputs),
            **{name: tensor_from_json(value, specs[name][0]) for name, value in inputs.items()}}


def _row_tensors(instances, specs: dict) -> dict[str, np.ndarray]:
    if not isinstance(instances, list):
        raise invalid_argument("Excepting 'instances' to be an list/array")
    if not instances:
        raise invalid_argument("No values in 'instances' array")
    if not _is_tensor_object(instances[0]):
        if len(specs) > 1:
            raise invalid_argument("instances is a plain list, but expecting list of objects as "
                                   "multiple input tensors required as per tensorinfo_map "
                                   f"({', '.join(sorted(specs))})")
        instances = [{next(iter(specs)): instance} for instance in instances]
    names = sorted(instances[0])
    _check_names(names, specs, "element 0 of 'instances'")
    columns = {name: [] for name in names}
    for i, instance in enumerate(instances):
        if not _is_tensor_object(instance) or sorted(instance) != names:
            raise invalid_argument(f"Failed to process element: {i} of 'instances' list. JSON "
                                   f"object: {shown(instance)} keys must be equal to: "
                                   f"{','.join(names)} (the keys of element 0)")
        for name in names:
            try:
                columns[name].append(tensor_from_json(instance[name], specs[name][0]))
            except ServingError as error:
                raise invalid_argument(f"Failed to process element: {i} key: {name} of "
                                       f"'instances' list. Error: {error.message}") from None
    tensors = {}
    for name, values in columns.items():
        other = next((v.shape for v in values if v.shape != values[0].shape), None)
        if other is not None:
            raise invalid_argument(f"Expecting shape {list(values[0].shape)} but got: "
                                   f"{list(other)} (input {name} of every instance needs one "
                                   "shape)")
        tensors[name] = np.stack(values)
    return {**_defaults(specs, tensors), **tensors}
