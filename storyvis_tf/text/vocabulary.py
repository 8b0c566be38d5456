"""Tokeniser and vocabulary.

Tokenisation follows the field (lower-case word tokens, `\\w+`). The exported SavedModel repeats
it in-graph with `tf.strings` (lower-case, `[^\\p{L}\\p{N}_]+` -> space, split), so both must agree;
a test checks that they do.
"""
import collections
import hashlib
import re
from collections.abc import Iterable

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
_WORD = re.compile(r"[^\W]+")  # letters, digits and underscore, Unicode-aware


def tokenize(sentence: str) -> list[str]:
    """Lower-cased word tokens of `sentence` (U+FFFD and punctuation are separators)."""
    return _WORD.findall(sentence.lower())


class Vocabulary:
    """Word <-> id mapping with id 0 = padding and id 1 = out-of-vocabulary."""

    def __init__(self, words: Iterable[str]):
        words = list(words)
        if words[:2] != [PAD, UNK]:
            raise ValueError(f"vocabulary must start with {PAD!r}, {UNK!r}; got {words[:2]}")
        if len(set(words)) != len(words):
            raise ValueError("vocabulary has duplicate words")
        self.words = words
        self._ids = {w: i for i, w in enumerate(words)}

    @classmethod
    def from_counts(cls, counts: dict[str, int], min_count: int = 1) -> "Vocabulary":
        """Most frequent first, ties alphabetical, so the same corpus always gives the same ids."""
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in (PAD, UNK)),
                      key=lambda w: (-counts[w], w))
        return cls([PAD, UNK, *kept])

    @classmethod
    def from_sentences(cls, sentences: Iterable[str], min_count: int = 1) -> "Vocabulary":
        return cls.from_counts(collections.Counter(t for s in sentences for t in tokenize(s)),
                               min_count)

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentence: str) -> list[int]:
        """Token ids of `sentence`, unknown words -> UNK_ID, no padding or truncation."""
        return [self._ids.get(t, UNK_ID) for t in tokenize(sentence)]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.words[i] for i in ids if i != PAD_ID)

    def sha256(self) -> str:
        """Identifies the vocabulary in manifests, so a later stage refuses a mismatched one."""
        return hashlib.sha256("\n".join(self.words).encode("utf-8")).hexdigest()

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(self.words) + "\n")

    @classmethod
    def load(cls, path: str) -> "Vocabulary":
        try:
            with open(path, encoding="utf-8") as f:
                return cls(line.rstrip("\n") for line in f if line.rstrip("\n"))
        except FileNotFoundError:
            raise FileNotFoundError(f"vocabulary file {path} not found (expected one word per "
                                    "line, written by pipelines.preprocess)") from None
