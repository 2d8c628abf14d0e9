"""An answered reply: the text with its citations, and the contacts of the cited documents appended."""

from __future__ import annotations

from dataclasses import replace

from . import messages
from .features import Candidate
from .intent import Intent
from .quotes import Quoter
from .records import Answer, Citation, Decision
from .sources import Sources


class Replies:
    """Writes answers that state (or, not confident, offer) what the cited text says."""

    def __init__(self, sources: Sources, quoter: Quoter, model: str | None):
        self.sources, self.quoter, self.model = sources, quoter, model

    def answered(self, intent: Intent, text: str, citations: list[Citation], decision: Decision,
                 confident: bool = True, probability: float | None = None) -> Answer:
        """The answer `text` with its citations; when the question names a place, the first contact its documents
        list is offered at the end. A question about no place (碳达峰是什么意思？) is not sent to whichever
        district's office the quoted document happens to list."""
        contacts = self.sources.cited_contacts(citations) if intent.places else []
        if contacts:
            c = contacts[0]
            text += messages.further_contact(messages.who(c["organisation"], c["name"]), c["phone"])
        decision = replace(decision, route="answered" if confident else "hedged")
        return Answer(intent.question, text, False, intent.script, citations, contacts, intent=intent,
                      decision=decision, confidence="high" if confident else "low", probability=probability,
                      model=self.model)

    def quoted(self, intent: Intent, best: Candidate, options: list[Candidate], decision: Decision, confident: bool,
               probability: float) -> Answer:
        """The scored rule: the best sentence quoted (see Quoter.span) under its document and section."""
        start, end = self.quoter.span(intent, best, options)
        short = None
        reading = best.reading
        if reading is not None and reading.end > reading.start:
            start, end = min(start, reading.start), max(end, reading.end)  # the quote holds the fact it leads with
            short = self.sources.citation(1, best.clause, reading.start, reading.end)
        citation = self.sources.citation(1, best.clause, start, end)
        text = messages.quoted(best.clause, citation.quote, confident, short.quote if short else None)
        answer = self.answered(intent, text, [citation], replace(decision, rule="scored"), confident, probability)
        answer.short_answer = short
        return answer
