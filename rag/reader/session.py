"""The reader at answer time (ONNX Runtime, no torch): each candidate window's probability of answering and
the best answer span inside it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Settings
from .weights import READER_TENSORS, ReaderUnavailable, ReaderWeights
from .windows import Window, batch, encode

MAX_SPAN_TOKENS = 64  # spans are capped (the NCP gold spans run a median 39 characters)
TOP_TOKENS = 5  # starts and ends considered, as the competition's readers do

__all__ = ["Reader", "ReaderUnavailable", "Reading", "best_span"]


@dataclass(frozen=True)
class Reading:
    """What the reader makes of one window: its answer logit and span [start, end) in document offsets."""

    window: Window
    logit: float
    start: int
    end: int
    span_score: float

    @property
    def probability(self) -> float:
        """The reader's own P(answers), before the combiner."""
        return float(1.0 / (1.0 + np.exp(-np.clip(self.logit, -30, 30))))


def best_span(start: np.ndarray, end: np.ndarray, allowed: np.ndarray) -> tuple[int, int, float]:
    """Token indices (first, last) of the best span among allowed tokens, and its score (start + end logit)."""
    start = np.where(allowed, start, -np.inf)
    end = np.where(allowed, end, -np.inf)
    starts = np.argsort(-start)[:TOP_TOKENS]
    ends = np.argsort(-end)[:TOP_TOKENS]
    best = (int(starts[0]), int(starts[0]), float(start[starts[0]] + end[starts[0]]))
    best_score = -np.inf
    for s in starts.tolist():
        for e in ends.tolist():
            if s <= e < s + MAX_SPAN_TOKENS and np.isfinite(start[s] + end[e]) and start[s] + end[e] > best_score:
                best, best_score = (s, e, float(start[s] + end[e])), start[s] + end[e]
    return best


class Reader:
    """The merged reader's ONNX session, its tokenizer and its record (thresholds, combiner, version)."""

    def __init__(self, settings: Settings | None = None, weights: ReaderWeights | None = None,
                 tensors: Path = READER_TENSORS):
        from ..embed.encoder import _threads, converted_folder
        from ..embed.onnx_export import MODEL_FILE, TOKENIZER_FILE, session, shared_tokenizer
        from .export import ensure_reader_onnx

        started = time.perf_counter()
        self.settings = settings or Settings()
        self.weights = weights or ReaderWeights.load()
        folder = ensure_reader_onnx(self.settings.model_cache_dir, self.weights,
                                    lambda: converted_folder(self.settings), tensors,
                                    variant=self.settings.reader_variant)
        self.session = session(folder / MODEL_FILE, _threads())
        # Shared with the encoder (the same vocabulary); its 512-token cut is never reached by a window pair,
        # which encode() cuts at MAX_TOKENS itself.
        self.tokenizer = shared_tokenizer(folder / TOKENIZER_FILE)
        self.load_seconds = time.perf_counter() - started

    @property
    def version(self) -> str:
        """The weights' version (rd-…)."""
        return self.weights.version

    def read(self, question: str, windows: list[Window]) -> list[Reading]:
        """One Reading per window, in the order given."""
        if not windows:
            return []
        encoded = [encode(self.tokenizer, question, w) for w in windows]
        ids, mask = batch(encoded)
        answer, start, end = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        readings = []
        for row, (window, enc) in enumerate(zip(windows, encoded)):
            n = len(enc.ids)
            first, last, score = best_span(start[row, :n], end[row, :n], enc.answerable_tokens)
            lo, hi = int(enc.spans[first, 0]), int(enc.spans[last, 1])
            if lo < 0 or hi <= lo:  # no window token at all (an empty window): the sentence itself
                lo, hi = window.sentence_start - window.start, window.sentence_end - window.start
            readings.append(Reading(window, float(answer[row]), window.start + lo, window.start + hi, score))
        return readings
