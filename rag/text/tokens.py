"""Tokenise (jieba): the words BM25 and question analysis read.

Clause text is already cleaned; a question goes through the same character normalisation first
(Traditional -> Simplified, NFKC), so 「新能源車」 and 「新能源车」 meet the same tokens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache

from .normalize import normalize_query
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
