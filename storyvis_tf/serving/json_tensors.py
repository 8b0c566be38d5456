"""TensorFlow Serving's JSON tensor format (api_rest.md, json_tensor.cc): JSON values <-> arrays.

Request side, `tensor_from_json(value, dtype)`: a tensor is a JSON scalar or a nested, rectangular
JSON list of scalars of the signature input's dtype. A DT_STRING element is a JSON string (sent as
its UTF-8 bytes) or `{"b64": "..."}` (raw bytes); integer dtypes take JSON integers, floating ones
any JSON number, DT_BOOL true/false. A ragged list, a list nested deeper than its first element or
a value of another type is an INVALID_ARGUMENT naming the value, as in TF Serving.

Response side, `json_from_tensor(array, name)`: DT_STRING outputs whose name ends in `_bytes`
become `{"b64": "..."}` (TF Serving's rule, hence the export's `images_bytes`), other strings
UTF-8 text; numeric arrays are returned as NumPy arrays for orjson to write (OPT_SERIALIZE_NUMPY:
an image of 64x64x3 uint8 is written ~10x faster than by `json`).
"""
import base64
import binascii
import json

import numpy as np
import tensorflow as tf

from storyvis_tf.serving.errors import ServingError, invalid_argument

BYTES_SUFFIX = "_bytes"
_SHOWN_VALUE_CHARS = 80   # a bad value is quoted in the error up to this length


def tensor_from_json(value, dtype: tf.DType) -> np.ndarray:
    """The array of `value` (a JSON scalar or nested list) as `dtype`: strings as an object array
    of bytes, numbers and booleans as `dtype.as_numpy_dtype`; shape from the nesting."""
    shape, probe = [], value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    leaves = []
    _collect_leaves(value, 0, shape, dtype, leaves)
    numpy_dtype = object if dtype == tf.string else dtype.as_numpy_dtype
    array = np.empty(len(leaves), numpy_dtype)
    array[:] = leaves
    return array.reshape(shape)


def json_from_tensor(array: np.ndarray, name: str):
    """The JSON value of output `name` (see the module docstring)."""
    if array.dtype != object:
        return array
    if name.endswith(BYTES_SUFFIX):
        encode = np.frompyfunc(lambda b: {"b64": base64.b64encode(b).decode("ascii")}, 1, 1)
    else:
        encode = np.frompyfunc(lambda b: b.decode("utf-8", errors="replace"), 1, 1)
    return encode(array).tolist() if array.ndim else encode(array)


def shown(value) -> str:
    """`value` as JSON for an error message, cut to a readable length."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[:_SHOWN_VALUE_CHARS - 3] + "..."


def _collect_leaves(value, level: int, shape: list[int], dtype: tf.DType, leaves: list) -> None:
    if not isinstance(value, list):
        if level != len(shape):
            raise invalid_argument(f"JSON Value: {shown(value)} found at incorrect level: "
                                   f"{level + 1} in the JSON DOM. Expected at level: {len(shape)}")
        leaves.append(_leaf(value, dtype))
        return
    if level >= len(shape):
        raise invalid_argument(f"Encountered list at unexpected level: {level} expected < "
                               f"{len(shape)}")
    if len(value) != shape[level]:
        raise invalid_argument(f"Encountered list at unexpected size: {len(value)} at level: "
                               f"{level} expected size: {shape[level]}")
    for element in value:
        _collect_leaves(element, level + 1, shape, dtype, leaves)


def _leaf(value, dtype: tf.DType):
    """One JSON scalar as a Python value of `dtype`."""
    if dtype == tf.string:
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except binascii.Error:
                raise invalid_argument(f"Unable to base64 decode {shown(value)}") from None
    elif dtype.is_bool:
        if isinstance(value, bool):
            return value
    elif dtype.is_integer:
        if isinstance(value, int) and not isinstance(value, bool):
            if not dtype.min <= value <= dtype.max:
                raise invalid_argument(f"JSON Value: {shown(value)} is out of the range of "
                                       f"{dtype.name}")
            return value
    elif dtype.is_floating:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    else:
        raise ServingError("UNIMPLEMENTED", f"Conversion of JSON Value: {shown(value)} to type: "
                                            f"{dtype.name}")
    raise invalid_argument(f"JSON Value: {shown(value)} Type: {_json_type(value)} is not of "
                           f"expected type: {dtype.name}")


def _json_type(value) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    return {dict: "Object", list: "Array", str: "String"}.get(type(value), "Number")
