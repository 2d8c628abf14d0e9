"""Which published official answer a citizen question asks for: the same need in other words.

Questions and every wording of an answer (its question and paraphrases) are embedded as e5 queries, the
symmetric use e5 is trained for; a question takes the answer whose closest wording is at least MATCH_THRESHOLD
away in cosine, else none. The threshold is chosen on eval/faq_paraphrases.jsonl (groups of one need in
different words, and unrelated questions that share the topic): `python eval/faq_match.py` writes the figures.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..text import normalize_question, prepare_question
from .official import OfficialAnswer

# Chosen on eval/faq_paraphrases.jsonl (python eval/faq_match.py): 18 of 22 paraphrases matched, no unrelated
# question and no paraphrase to a wrong answer, but 8 of 15 near misses (充电站 for 充电桩, 碳中和 for 碳达峰):
# e5-small puts minimal pairs as close as paraphrases. So the reply always says which question it answers.
MATCH_THRESHOLD = 0.95


def normalized(question: str) -> str:
    """The question as search reads it (Simplified, NFKC, noise and stray symbols removed), so both scripts and an
    emoji-strewn wording match alike."""
    return normalize_question(prepare_question(question)[0])


@dataclass(frozen=True)
class OfficialMatch:
    """A published answer a question asks for, with how close its nearest wording is."""

    answer: OfficialAnswer
    similarity: float
    wording: str


class OfficialMatcher:
    """The published answers' wordings embedded once per set of answers; `match` finds a question's answer."""

    def __init__(self, encoder: object, threshold: float = MATCH_THRESHOLD):
        self.encoder = encoder
        self.threshold = threshold
        self._lock = threading.Lock()
        self._key: tuple = ()
        self._answers: list[tuple[OfficialAnswer, str]] = []
        self._vectors = np.zeros((0, 1), dtype=np.float32)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode_queries([normalized(t) for t in texts])

    def _refresh(self, published: Sequence[OfficialAnswer]) -> None:
        key = tuple((a.id, a.approved_at, a.wordings) for a in published)
        with self._lock:
            if key == self._key:
                return
            pairs = [(a, w) for a in published for w in a.wordings]
            vectors = self._embed([w for _, w in pairs]) if pairs else np.zeros((0, 1), dtype=np.float32)
            self._key, self._answers, self._vectors = key, pairs, vectors

    def similarities(self, question: str, published: Sequence[OfficialAnswer]) -> list[OfficialMatch]:
        """Every published answer with its nearest wording's cosine to the question, closest first."""
        self._refresh(published)
        if not self._answers or not question.strip():
            return []
        scores = self._vectors @ self._embed([question])[0]
        best: dict[str, OfficialMatch] = {}
        for (answer, wording), score in zip(self._answers, scores):
            if answer.id not in best or score > best[answer.id].similarity:
                best[answer.id] = OfficialMatch(answer, float(score), wording)
        return sorted(best.values(), key=lambda m: -m.similarity)

    def match(self, question: str, published: Sequence[OfficialAnswer]) -> OfficialMatch | None:
        """The answer the question asks for, or None when no wording is close enough."""
        found = self.similarities(question, published)
        return found[0] if found and found[0].similarity >= self.threshold else None
