"""TensorFlow Serving's error model: a canonical status code with a message, answered over REST as
`{"error": message}` under the HTTP status TF Serving gives that code (http_server.cc).

Every failure the server reports is a `ServingError`; a `tf.errors.OpError` from a model call is
converted with its own code (`from_op_error`), so an InvalidArgumentError of the graph is a 400
here as in TF Serving.
"""
import tensorflow as tf

HTTP_STATUS = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
    "NOT_FOUND": 404, "RESOURCE_EXHAUSTED": 429, "UNKNOWN": 500,
    "INTERNAL": 500, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}
_CODE_NAMES = {getattr(tf.errors, name): name for name in HTTP_STATUS}


class ServingError(Exception):
    """A request that cannot be served: `code` (a key of HTTP_STATUS) and a one-line message."""

    def __init__(self, code: str, message: str):
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown status code {code!r}; expected one of {sorted(HTTP_STATUS)}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


def invalid_argument(message: str) -> ServingError:
    return ServingError("INVALID_ARGUMENT", message)


def from_op_error(error: tf.errors.OpError) -> ServingError:
    """The ServingError of a TensorFlow op failure: its code (INTERNAL if unmapped), its message."""
    return ServingError(_CODE_NAMES.get(error.error_code, "INTERNAL"), error.message)
