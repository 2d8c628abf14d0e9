"""What the reader reads: a candidate sentence with a little of its clause around it, after the document's
title, paired with the question, tokenised with the e5 tokenizer (the same at training and at answer time).

Offsets map every passage token back to the window's characters, so a span the reader picks is an exact slice
of the cleaned document text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

CONTEXT_CHARS = 24  # clause text kept on each side of the sentence: what 该项, 上述 and 其中 refer to
SENTENCE_CHARS = 160  # a longer sentence is read from its start
TITLE_CHARS = 30
MAX_TOKENS = 192
QUESTION_PREFIX, PASSAGE_PREFIX, TITLE_END = "query: ", "passage: ", "｜"


@dataclass(frozen=True)
class Window:
    """A stretch of one cleaned document: [start, end) holds the candidate sentence [sentence_start,
    sentence_end) and its context."""

    doc_id: str
    title: str
    text: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int


def window_of(doc_id: str, title: str, document: str, clause_start: int, clause_end: int,
              start: int, end: int) -> Window:
    """The window of the sentence [start, end) of a clause [clause_start, clause_end) of `document`."""
    end = min(end, start + SENTENCE_CHARS)
    lo = max(clause_start, start - CONTEXT_CHARS)
    hi = max(end, min(clause_end, end + CONTEXT_CHARS))
    return Window(doc_id, title[:TITLE_CHARS], document[lo:hi], lo, hi, start, end)


@dataclass
class Encoded:
    """Token ids of (question, window) and, for each token, its [start, end) in window.text or (-1, -1) for
    tokens that are not window text (the question, the title, special tokens)."""

    ids: np.ndarray
    spans: np.ndarray  # [tokens, 2]

    @property
    def answerable_tokens(self) -> np.ndarray:
        """Which tokens a span may start or end on: the window's own."""
        return self.spans[:, 0] >= 0


def encode(tokenizer: Tokenizer, question: str, window: Window) -> Encoded:
    """The pair as the reader reads it, cut to MAX_TOKENS from the window's end when too long."""
    prefix = f"{PASSAGE_PREFIX}{window.title}{TITLE_END}"
    encoding = tokenizer.encode(QUESTION_PREFIX + question[:120], prefix + window.text)
    ids = np.asarray(encoding.ids[:MAX_TOKENS], dtype=np.int64)
    spans = np.full((len(ids), 2), -1, dtype=np.int64)
    for i, (sequence, (s, e)) in enumerate(zip(encoding.sequence_ids[:MAX_TOKENS], encoding.offsets)):
        if sequence == 1 and s >= len(prefix) and e > s:
            spans[i] = (s - len(prefix), e - len(prefix))
    if len(encoding.ids) > MAX_TOKENS:
        ids[-1] = encoding.ids[-1]  # keep the closing </s>
        spans[-1] = -1
    return Encoded(ids, spans)


def batch(encoded: list[Encoded], pad_id: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """input_ids and attention_mask of a batch, padded to its longest pair."""
    width = max(len(e.ids) for e in encoded)
    ids = np.full((len(encoded), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encoded), width), dtype=np.int64)
    for row, e in enumerate(encoded):
        ids[row, :len(e.ids)], mask[row, :len(e.ids)] = e.ids, 1
    return ids, mask
