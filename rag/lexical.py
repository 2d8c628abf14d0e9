"""Tokenise (jieba) and score (BM25, bm25s) clauses: the sparse half of hybrid retrieval.

Clause text is already cleaned; a question goes through the same character normalisation first
(Traditional -> Simplified, NFKC), so 「新能源車」 and 「新能源车」 meet the same tokens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .textnorm import normalize_query
from .vocabulary import DOMAIN_WORDS, STOPWORDS

WORD = re.compile(r"[\w\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    for word in DOMAIN_WORDS:
        jieba.add_word(word, freq=20000)
    return jieba


def add_words(words: Sequence[str]) -> None:
    """Teach jieba names the corpus uses (departments such as 市工信局) so they stay one token."""
    jieba = _jieba()
    for word in words:
        if 2 <= len(word) <= 20:
            jieba.add_word(word, freq=2000)


def words(text: str) -> list[str]:
    """jieba's segmentation (no HMM) of normalised text, in order, nothing removed."""
    return _jieba().lcut(normalize_query(text).lower(), HMM=False)


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens (words and their sub-words), lower-cased, without punctuation or stopwords.
    No HMM guessing of unknown words: it glues particles on ("车要") differently in questions and clauses."""
    tokens = _jieba().lcut_for_search(normalize_query(text).lower(), HMM=False)
    return [t for t in (tok.strip() for tok in tokens) if t and WORD.search(t) and t not in STOPWORDS]


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

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """The BM25 score of every clause for the tokens (float32, all zeros when none is in the vocabulary)."""
        if self.model is None:
            return np.zeros(self.size, dtype=np.float32)
        known = [t for t in query_tokens if t in self.model.vocab_dict]
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
