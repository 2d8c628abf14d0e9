"""The compare rule: a question naming several places (瑞金和成都…分别…) is answered place by place, one quote
from each place's own documents, a row saying so for a place without documents or without an answer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..retrieve import Filters, Hit, Searcher
from ..text import PlaceCatalogue
from . import messages
from .features import CANDIDATE_CLAUSES, Candidate
from .intent import Intent, analyse
from .judge import Judge
from .quotes import Quoter
from .records import Answer, Citation, Decision
from .refusal import Refusals
from .replies import Replies
from .sources import Sources

Scored = Callable[[Intent, list[Hit], np.ndarray], list[Candidate]]


def question_about(intent: Intent, place: str) -> str:
    """The compared question asked of one place: the other places it names taken out."""
    question = intent.normalized
    for other in intent.places:
        if other != place:
            question = question.replace(other, "")
    return question


class Comparer:
    """Answers a question about several places, each from its own documents."""

    def __init__(self, searcher: Searcher, catalogue: PlaceCatalogue, scored: Scored, scorer: Judge,
                 sources: Sources, quoter: Quoter, replies: Replies, refusals: Refusals):
        self.searcher, self.catalogue, self.scored, self.scorer = searcher, catalogue, scored, scorer
        self.sources, self.quoter, self.replies, self.refusals = sources, quoter, replies, refusals

    def answer(self, intent: Intent) -> Answer:
        """One row per place; refused when no place's documents answer, hedged when any row is not confident."""
        rows, citations, probabilities = [], [], []
        vector = self.searcher.embed_question(intent.normalized)  # one embedding: each place's search reuses it
        for place in intent.places:
            docs = self.catalogue.documents_of(place)
            found = self._quote(intent, place, docs, vector, len(citations) + 1) if docs else None
            if found is None:
                rows.append(messages.nothing_found_for_place(place) if docs else messages.no_documents_of_place(place))
                continue
            best, citation = found
            citations.append(citation)
            probabilities.append(best.probability)
            rows.append(messages.compared_row(place, best.clause, citation.quote, citation.n))
        decision = Decision("answered", "compare", rule="compare", places=intent.places)
        if not citations:
            hits = self.searcher.search(intent.normalized, k=CANDIDATE_CLAUSES, vector=vector, normalized=True)
            return self.refusals.refuse(intent, hits, "absent", decision, vector)
        confident = min(probabilities) >= self.scorer.answer_threshold
        return self.replies.answered(intent, messages.comparison(rows, confident), citations, decision, confident,
                                     min(probabilities))

    def _quote(self, intent: Intent, place: str, docs: tuple[str, ...], vector: np.ndarray,
               n: int) -> tuple[Candidate, Citation] | None:
        """The place's best candidate and its quote as citation [n]; None below the refusal line."""
        sub = analyse(question_about(intent, place), self.catalogue.known_places, self.searcher.index.tokenizer)
        hits = self.searcher.search(sub.normalized, k=CANDIDATE_CLAUSES, filters=Filters(doc_ids=docs), vector=vector,
                                    normalized=True)
        options = self.scored(sub, hits, vector)
        if not options or options[0].probability < self.scorer.refuse_threshold:
            return None
        best = options[0]
        start, end = self.quoter.span(sub, best, options)
        return best, self.sources.citation(n, best.clause, start, end)
