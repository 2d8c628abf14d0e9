"""A refusal: it says plainly that the documents do not answer, whom to ask instead, and which clauses of the
asked place are closest, as reading rather than as an answer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import Settings
from ..retrieve import Filters, Hit, Searcher
from ..text import PlaceCatalogue
from . import messages
from .features import CANDIDATE_CLAUSES
from .intent import Intent
from .records import Answer, Citation, Decision, Reason
from .sources import Sources, contact_card


def _one_a_path(hits: list[Hit]) -> list[Hit]:
    """The parts of a split clause share its path: the best-ranked part stands for it, so a path is read once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for hit in hits:
        key = (hit.clause.doc_id, hit.clause.section)
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept


class Refusals:
    """Writes refusals over the index: the reason, a contact, and related reading."""

    def __init__(self, searcher: Searcher, sources: Sources, catalogue: PlaceCatalogue, settings: Settings,
                 model: str | None):
        self.searcher, self.sources, self.catalogue = searcher, sources, catalogue
        self.settings, self.model = settings, model

    def refuse(self, intent: Intent, hits: list[Hit], reason: Reason, decision: Decision,
               vector: np.ndarray | None = None) -> Answer:
        """A plain refusal and whom to ask instead; the closest clauses of the asked place go in `related` only
        (`vector`: the question's, when it was already embedded). The text never lists them: whoever shows the
        refusal shows them once, as sources (the page's cards, the command line's list)."""
        related = self.related(intent, hits, vector)
        contact = self.whom_to_call(intent)
        text = messages.refusal_lead(reason, decision.foreign) + self._call(contact)
        # A refusal for want of a good enough sentence keeps that sentence's probability, for the record.
        probability = decision.probability if reason == "absent" else None
        return Answer(intent.question, text, True, intent.script, contacts=[contact], related=related, intent=intent,
                      decision=replace(decision, route="refused", refused_because=reason), model=self.model,
                      probability=probability)

    def related(self, intent: Intent, hits: list[Hit], vector: np.ndarray | None = None,
                limit: int = 3) -> list[Citation]:
        """The closest clauses as further reading: only the asked place's when the question names a place
        with documents, none when it names only places without; never a document's contact line, so a
        refusal does not lead with some other office's phone number."""
        wanted = self.catalogue.documents_of_places(intent.places)
        if intent.places and not wanted:
            return []
        if wanted:
            hits = [h for h in hits if h.clause.doc_id in wanted] or self.searcher.search(
                intent.normalized, k=CANDIDATE_CLAUSES, filters=Filters(doc_ids=wanted), vector=vector,
                normalized=True)
        readable = [h for h in hits if not self.sources.holds_contact(h.clause)]
        return [self.sources.whole_clause(i, h.clause) for i, h in enumerate(_one_a_path(readable)[:limit], 1)]

    def whom_to_call(self, intent: Intent) -> dict:
        """Whom to ask instead: the consulting contact of the place the question is about, else the configured
        general line (by default the 12345 government service hotline)."""
        place = self.place_asked_about(intent)
        for doc_id in self.catalogue.documents_of(place) if place else ():
            for contact in self.sources.contacts_of(doc_id):
                return contact_card(contact, doc_id=doc_id, start=contact.start, end=contact.end)
        return {"name": self.settings.general_contact_name, "phone": self.settings.general_contact_phone,
                "organisation": None, "general": True}

    def place_asked_about(self, intent: Intent) -> str | None:
        """Of the places a question names, the one whose documents best match what it asks once the place names
        are taken out (a lexical search over those places' documents): someone who came from 共青城 and asks
        about 成都's buses asks about 成都. With one named place that has documents, that place; with none, or
        no match, the first place named."""
        places = [p for p in intent.places if self.catalogue.documents_of(p)]
        if len(places) < 2:
            return (places or list(intent.places) or [None])[0]
        content = intent.normalized
        for place in intent.places:
            content = content.replace(place, " ")
        docs = self.catalogue.documents_of_places(places)
        found = self.searcher.search(content, k=1, mode="bm25", filters=Filters(doc_ids=docs))
        if found:
            return next(p for p in places if found[0].clause.doc_id in self.catalogue.documents_of(p))
        return intent.places[0]

    @staticmethod
    def _call(contact: dict) -> str:
        if contact.get("general"):
            return messages.call_general_line(contact["name"], contact["phone"])
        return messages.call(messages.who(contact["organisation"], contact["name"]), contact["phone"])
