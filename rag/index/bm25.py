"""BM25 over clause tokens (bm25s): the sparse half of hybrid retrieval, saved and loaded without pickle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


class BM25Index:
    """bm25s over pre-tokenised clauses; saved as JSON and .npy arrays, loaded without pickle."""

    def __init__(self, model=None, size: int = 0):
        self.model = model
        self.size = size

    @classmethod
    def build(cls, corpus_tokens: Sequence[list[str]]) -> BM25Index:
        """An index over the clauses' tokens, one row per clause (an empty one for no clauses)."""
        import bm25s

        if not corpus_tokens:
            return cls(None, 0)
        model = bm25s.BM25(k1=1.2, b=0.75)
        # A clause with no word tokens (a bare number) still needs a row: give it a token nothing matches.
        model.index([tokens or ["\u0000"] for tokens in corpus_tokens], show_progress=False)
        return cls(model, len(corpus_tokens))

    def knows(self, token: str) -> bool:
        """Whether any clause has this token."""
        return self.model is not None and token in self.model.vocab_dict

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """The BM25 score of every clause for the tokens (float32, all zeros when none is in the vocabulary)."""
        if self.model is None:
            return np.zeros(self.size, dtype=np.float32)
        known = [t for t in query_tokens if self.knows(t)]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)

    def save(self, folder: Path) -> None:
        """Writes the model into `folder` without pickle (nothing but the folder for an empty index)."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25Index:
        """The index saved in `folder`, over `size` clauses; an empty one when nothing was saved there."""
        import bm25s

        if size == 0 or not (folder / "params.index.json").exists():
            return cls(None, size)
        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, load_corpus=False), size)
