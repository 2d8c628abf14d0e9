"""Near-duplicate documents: the same policy published by two sources is indexed once.

Two copies of one policy differ in their headers, line breaks, a reposting site's title and the odd
character the PDF text layer lost, so exact hashes miss them. Texts are compared on their 5-character
shingles (letters, digits and CJK only): MinHash LSH finds candidates without comparing every pair, and
the exact Jaccard similarity of the shingle sets decides. Measured on corpus/ and corpus-extra (98 files):
the two `_a/_b` pairs score 0.99 and 0.98; the closest distinct documents (a province's opinions and a
city's plan implementing them) score 0.33.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

SHINGLE = 5
THRESHOLD = 0.6  # exact Jaccard at or above this is the same document
PERMUTATIONS = 128
_NOT_TEXT = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]+")


def shingles(text: str) -> set[str]:
    """The 5-character substrings of the text's letters, digits and CJK (the whole of it when shorter)."""
    letters = _NOT_TEXT.sub("", text)
    return {letters[i:i + SHINGLE] for i in range(max(1, len(letters) - SHINGLE + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    """Intersection over union of two sets (1.0 when both are empty)."""
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass(frozen=True)
class Duplicate:
    """A document left out of the index as a near duplicate: its id and path, the one kept, and how similar."""

    doc_id: str  # the copy that is not indexed
    path: str
    kept: str  # the document id indexed in its place
    similarity: float


class DuplicateFinder:
    """Add documents in corpus order; each is either new or the near duplicate of one added before."""

    def __init__(self, threshold: float = THRESHOLD, texts: Callable[[str], str] | None = None):
        """`texts` (document id -> text) lets a long-lived finder keep signatures only and shingle a candidate's
        text when it needs the exact similarity, instead of holding every document's shingles."""
        self.threshold = threshold
        self.texts = texts
        # LSH is tuned a little below the decision threshold so it does not miss pairs near it.
        self.lsh = MinHashLSH(threshold=max(0.1, threshold - 0.2), num_perm=PERMUTATIONS)
        self.sets: dict[str, set[str]] = {}

    def find(self, text: str, exclude: str | None = None) -> tuple[str, float] | None:
        """(document id, similarity) of the document added before that `text` duplicates, else None; nothing
        is remembered (a staged upload is checked against the index this way)."""
        return self._closest(*_signed(text), exclude)

    def add(self, doc_id: str, text: str) -> None:
        """Remember a document for later checks."""
        self._add(doc_id, *_signed(text))

    def check(self, doc_id: str, text: str) -> tuple[str, float] | None:
        """(kept document id, similarity) when `text` duplicates an earlier document, else None; a new
        document is remembered for later checks."""
        grams, signature = _signed(text)
        same = self._closest(grams, signature)
        if same is None:
            self._add(doc_id, grams, signature)
        return same

    def _closest(self, grams: set[str], signature: MinHash, exclude: str | None = None) -> tuple[str, float] | None:
        # LSH proposes candidates; the exact Jaccard of the shingle sets decides.
        scored = [(jaccard(grams, self._shingles(other)), other) for other in self.lsh.query(signature)
                  if other != exclude]
        best = max(scored, default=None)
        return (best[1], round(best[0], 3)) if best and best[0] >= self.threshold else None

    def _shingles(self, doc_id: str) -> set[str]:
        return self.sets[doc_id] if self.texts is None else shingles(self.texts(doc_id))

    def _add(self, doc_id: str, grams: set[str], signature: MinHash) -> None:
        if self.texts is None:
            self.sets[doc_id] = grams
        self.lsh.insert(doc_id, signature)


def _signed(text: str) -> tuple[set[str], MinHash]:
    """The text's shingles and their MinHash signature."""
    grams = shingles(text)
    signature = MinHash(num_perm=PERMUTATIONS)
    signature.update_batch([g.encode("utf-8") for g in grams])
    return grams, signature
