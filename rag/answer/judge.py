"""How likely each candidate sentence answers: the scorer alone, or, when the reader's weights are present, the
scorer's top candidates read by the reader (its score for each and its share of the question's answer against
"none of them") and the two combined with the answer-kind check (a logistic regression fitted on held-out dev
documents, rag/data/reader.json). The thresholds and the model version every answer reports come from whichever
decides."""

from __future__ import annotations

import logging

import numpy as np

from ..config import Settings
from ..reader import Reader, ReaderUnavailable, asked_kinds, combiner, held_kinds
from ..reader.kinds import kind_features
from ..reader.windows import window_of
from .features import Candidate, matrix
from .scorer import AnswerScorer
from .sources import Sources

log = logging.getLogger(__name__)


class Judge:
    """The scorer, and the reader over its top `read_depth` candidates when one is loaded."""

    def __init__(self, scorer: AnswerScorer, reader: Reader | None, sources: Sources, adapter: str | None = None):
        self.scorer, self.reader, self.sources, self.adapter = scorer, reader, sources, adapter
        self._decider = reader.weights if reader else scorer

    @property
    def version(self) -> str:
        """What every answer's `model` says: the query adapter's version when questions are searched through it,
        the scorer's, and the reader's when it reads, joined by +."""
        parts = [self.adapter, self.scorer.version, self.reader.version if self.reader else None]
        return "+".join(p for p in parts if p)

    @property
    def refuse_threshold(self) -> float:
        """Below it the best candidate is not offered (the reader's when it reads, else the scorer's)."""
        return self._decider.refuse_threshold

    @property
    def answer_threshold(self) -> float:
        """At or above it the best candidate is stated as the answer; between the two it is hedged."""
        return self._decider.answer_threshold

    def score(self, question: str, found: list[Candidate]) -> list[Candidate]:
        """Every candidate with its probability of answering, best first: the scorer's for all of them, then, when
        the reader reads, the ones it read in the combiner's order with the best carrying the decider's
        P(answerable) (they decide), the rest kept below them."""
        for candidate, p in zip(found, self.scorer.probability(matrix(found))):
            candidate.probability = float(p)
        found = sorted(found, key=lambda c: -c.probability)
        if self.reader is None or not found:
            return found
        weights = self.reader.weights
        read, rest = found[:weights.read_depth], found[weights.read_depth:]
        readings = self.reader.read(question, [self._window(c) for c in read])
        logits = np.asarray([r.logit for r in readings])
        share = combiner.shares(logits, weights.null_logit)
        asked = asked_kinds(question)
        rows = []
        for rank, (candidate, reading) in enumerate(zip(read, readings), 1):
            candidate.reading = reading
            held = held_kinds(self.sources.text(candidate.clause.doc_id)[candidate.start:candidate.end])
            rows.append(combiner.row(candidate.probability, reading.logit, float(share[rank - 1]),
                                     reading.span_score, kind_features(asked, held), rank, float(share.sum())))
        combined = combiner.probability(weights.combiner, rows)
        decision = combiner.question_row(combined, share, logits, np.asarray([c.probability for c in read]))
        for candidate, p in zip(read, combiner.decided(weights.decider, combined, decision).tolist()):
            candidate.probability = p
        # A candidate the reader did not read is never preferred to one it read (the scorer ranked it lower), but
        # keeps its own, lower, probability for the routes that filter the read ones out (another place's office).
        floor = min(c.probability for c in read)
        for candidate, p in zip(rest, self._on_reader_scale(np.asarray([c.probability for c in rest])).tolist()):
            candidate.probability = min(p, floor)
        return sorted(read, key=lambda c: -c.probability) + rest

    def _on_reader_scale(self, p: np.ndarray) -> np.ndarray:
        """The scorer's probabilities of the candidates not read, mapped onto the reader's scale, thresholds onto
        thresholds (piecewise linear), so the routes that skip the read ones compare like with like."""
        s, w = self.scorer, self.reader.weights
        return np.interp(p, [0.0, s.refuse_threshold, s.answer_threshold, 1.0],
                         [0.0, w.refuse_threshold, w.answer_threshold, 1.0])

    def _window(self, c: Candidate):
        return window_of(c.clause.doc_id, c.clause.title, self.sources.text(c.clause.doc_id), c.clause.start,
                         c.clause.end, c.start, c.end)


def load_reader(settings: Settings) -> Reader | None:
    """The reader when it is switched on and its weights check out; None (the scorer decides alone) otherwise."""
    if not getattr(settings, "reader", True):
        return None
    try:
        return Reader(settings)
    except ReaderUnavailable as exc:
        log.warning("%s: answering with the scorer alone", exc)
        return None
