"""Errors raised while reading datasets.

`DatasetFormatError` stops a run at once (wrong --data_dir, a missing required file);
`BadStoryError` rejects one story, which then goes to the dead-letter output with its reason.
"""


class DatasetFormatError(ValueError):
    """The dataset directory does not have the expected layout; names the file and the format."""


class BadStoryError(ValueError):
    """One story cannot be read (missing/corrupt image, bad caption, missing followers, ...)."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
