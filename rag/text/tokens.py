"""Tokenise (jieba): the words BM25 and question analysis read, one Tokenizer per corpus lexicon.

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
def _base():
    """jieba's own dictionary and the policy vocabulary: what every Tokenizer starts from, never changed after."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    for word in DOMAIN_WORDS:
        jieba.add_word(word, freq=20000)
    return jieba.dt


class Tokenizer:
    """jieba over the policy vocabulary plus one corpus's lexicon (department names such as 市工信局, kept one
    token), an instance of its own: loading or building an index never changes how another index's text, or a
    question asked of it, is cut. Made once per lexicon (`Tokenizer.for_lexicon`)."""

    def __init__(self, lexicon: Sequence[str] = ()):
        import jieba
        import jieba.posseg

        base = _base()
        self.lexicon = tuple(lexicon)
        self._jieba = jieba.Tokenizer()
        # A copy of the base dictionary (0.1 s, 15 MB) instead of re-reading jieba's dictionary file.
        self._jieba.FREQ, self._jieba.total, self._jieba.initialized = dict(base.FREQ), base.total, True
        for word in self.lexicon:
            if 2 <= len(word) <= 20:
                self._jieba.add_word(word, freq=2000)
        # The part-of-speech tagger over this dictionary, sharing jieba's tag table (read once, at import).
        self._tagger = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
        self._tagger.tokenizer, self._tagger.word_tag_tab = self._jieba, jieba.posseg.dt.word_tag_tab

    @staticmethod
    def for_lexicon(lexicon: Sequence[str] = ()) -> Tokenizer:
        """The tokenizer of this lexicon, made at its first use and shared by every index that has it."""
        return _tokenizer(tuple(lexicon))

    def words(self, text: str) -> list[str]:
        """jieba's segmentation (no HMM) of normalised text, in order, nothing removed."""
        return self._jieba.lcut(normalize_query(text).lower(), HMM=False)

    def bounds(self, text: str) -> list[int]:
        """Where jieba's words (no HMM) of `text`, taken as it is, start and end: offsets into `text`, 0 first."""
        out = [0]
        for word in self._jieba.lcut(text, HMM=False):
            out.append(out[-1] + len(word))
        return out

    def tokenize(self, text: str) -> list[str]:
        """Search-mode jieba tokens (words and their sub-words), lower-cased, without punctuation or stopwords.
        No HMM guessing of unknown words: it glues particles on ("车要") differently in questions and clauses."""
        tokens = self._jieba.lcut_for_search(normalize_query(text).lower(), HMM=False)
        return [t for t in (tok.strip() for tok in tokens) if t and WORD.search(t) and t not in STOPWORDS]

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """(word, part-of-speech flag) pairs of `text` as given, jieba's tagger with its HMM."""
        return [(pair.word, pair.flag) for pair in self._tagger.lcut(text)]



@lru_cache(maxsize=8)
def _tokenizer(lexicon: tuple[str, ...]) -> Tokenizer:
    return Tokenizer(lexicon)
