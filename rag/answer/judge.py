"""How likely each candidate sentence answers: the scorer alone, or, when the reader's weights are present, the
scorer's top candidates read by the reader and the two combined with the answer-kind check (a logistic
regression fitted on held-out dev documents, rag/data/reader.json). The thresholds and the model version
every answer reports come from whichever decides."""

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

    def __init__(self, scorer: AnswerScorer, reader: Reader | None, sources: Sources):
        self.scorer, self.reader, self.sources = scorer, reader, sources
        self._decider = reader.weights if reader else scorer

    @property
    def version(self) -> str:
        """What every answer's `model` says: the scorer's version, and the reader's after a + when it reads."""
        return f"{self.scorer.version}+{self.reader.version}" if self.reader else self.scorer.version

    @property
    def refuse_threshold(self) -> float:
        """Below it the best candidate is not offered (the reader's when it reads, else the scorer's)."""
        return self._decider.refuse_threshold

    @property
    def answer_threshold(self) -> float:
        """At or above it the best candidate is stated as the answer; between the two it is hedged."""
        return self._decider.answer_threshold

    def score(self, question: str, found: list[Candidate]) -> list[Candidate]:
        """Every candidate with its probability of answering, best first."""
        for candidate, p in zip(found, self.scorer.probability(matrix(found))):
            candidate.probability = float(p)
        found = sorted(found, key=lambda c: -c.probability)
        if self.reader is None or not found:
            return found
        read = found[:self.reader.weights.read_depth]
        windows = [self._window(c) for c in read]
        asked = asked_kinds(question)
        rows = []
        for rank, (candidate, reading) in enumerate(zip(read, self.reader.read(question, windows)), 1):
            candidate.reading = reading
            held = held_kinds(self.sources.text(candidate.clause.doc_id)[candidate.start:candidate.end])
            rows.append(combiner.row(candidate.probability, reading.logit, reading.span_score,
                                     kind_features(asked, held), rank))
        combined = combiner.probability(self.reader.weights.combiner, rows)
        on_scale = self._on_reader_scale(np.asarray([c.probability for c in found]))
        # The reader lifts a candidate only when it reads it as answering itself (its own logit above 0): the
        # combiner alone lifted out-of-scope questions on the scorer's logit and the span score.
        lifted = {id(c): q for c, q in zip(read, combined.tolist()) if c.reading.logit >= 0.0}
        for candidate, p in zip(found, on_scale.tolist()):
            candidate.probability = max(p, lifted.get(id(candidate), 0.0))
        return sorted(found, key=lambda c: -c.probability)

    def _on_reader_scale(self, p: np.ndarray) -> np.ndarray:
        """The scorer's probabilities mapped onto the combiner's scale, thresholds onto thresholds (piecewise
        linear), so one number says answer / hedge / refuse: a sentence the scorer states confidently stays
        stated (the combiner alone refused who-leads questions the scorer answers)."""
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
