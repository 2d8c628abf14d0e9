"""An answered reply: the text with its citations, and the contacts of the cited documents appended."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from . import messages
from .features import Candidate
from .intent import Intent
from .quotes import Quoter, beyond_the_window, whole_words
from .records import Answer, Citation, Decision
from .sources import Sources


class Replies:
    """Writes answers that state (or, not confident, offer) what the cited text says."""

    def __init__(self, sources: Sources, quoter: Quoter, model: str | None,
                 documents_of_places: Callable[[Sequence[str]], Sequence[str]] | None = None):
        self.sources, self.quoter, self.model = sources, quoter, model
        self.documents_of_places = documents_of_places  # PlaceCatalogue.documents_of_places: whose line to offer

    def answered(self, intent: Intent, text: str, citations: list[Citation], decision: Decision,
                 confident: bool = True, probability: float | None = None) -> Answer:
        """The answer `text` with its citations; when the question names a place, the first contact that the
        cited documents of that place list is offered at the end. A question about no place (碳达峰是什么意思？)
        is not sent to whichever district's office the quoted document happens to list, nor a question about
        成都 to 共青城's office because 共青城's document was quoted."""
        contacts = self.sources.cited_contacts(self._of_asked_places(intent, citations)) if intent.places else []
        if contacts:
            c = contacts[0]
            text += messages.further_contact(messages.who(c["organisation"], c["name"]), c["phone"])
        decision = replace(decision, route="answered" if confident else "hedged")
        return Answer(intent.question, text, False, intent.script, citations, contacts, intent=intent,
                      decision=decision, confidence="high" if confident else "low", probability=probability,
                      model=self.model)

    def _of_asked_places(self, intent: Intent, citations: list[Citation]) -> list[Citation]:
        if self.documents_of_places is None:
            return citations
        wanted = set(self.documents_of_places(intent.places))
        return [c for c in citations if c.doc_id in wanted]

    def quoted(self, intent: Intent, best: Candidate, options: list[Candidate], decision: Decision, confident: bool,
               probability: float) -> Answer:
        """The scored rule: the best sentence quoted (see Quoter.span) under its document and section."""
        start, end = self.quoter.span(intent, best, options)
        short = None
        reading = best.reading
        if reading is not None and reading.end > reading.start:
            text = self.sources.text(best.clause.doc_id)
            lo, hi = whole_words(text, reading.start, reading.end, reading.window.start, reading.window.end,
                                 self.sources.index.tokenizer.bounds)
            lo, hi = beyond_the_window(text, lo, hi, (reading.window.start, reading.window.end),
                                       (best.clause.start, best.clause.end))
            if hi > lo:
                start, end = min(start, lo), max(end, hi)  # the quote holds the fact it leads with
                short = self.sources.citation(1, best.clause, lo, hi)
        citation = self.sources.citation(1, best.clause, start, end)
        text = messages.quoted(best.clause, citation.quote, confident, short.quote if short else None)
        answer = self.answered(intent, text, [citation], replace(decision, rule="scored"), confident, probability)
        answer.short_answer = short
        return answer
