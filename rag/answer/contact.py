"""The contact rule: a question asking whom to call is answered from the contact line a document lists, and
failing that only by a sentence that itself gives a number or names a hotline."""

from __future__ import annotations

import re
from dataclasses import replace

from ..retrieve import Hit
from . import messages
from .features import Candidate
from .intent import Intent
from .records import Answer, Decision
from .sources import Sources, contact_card

# Whether a sentence gives a phone number or names a hotline. Not ingest's CONTACT_LINE_PHONE, which reads the
# number itself off a labelled contact line and so must be exact; this only decides whether a quoted sentence
# can answer a contact question, so any run of digits a number could be, or a hotline's name, will do.
NUMBER_OR_HOTLINE = re.compile(r"\d{3,4}[-－—]\d{7,8}|(?<!\d)\d{5,12}(?!\d)|热线|服务电话|咨询电话")


def listed_contact(intent: Intent, hits: list[Hit], wanted: tuple[str, ...], sources: Sources, decision: Decision,
                   model: str | None) -> Answer | None:
    """The first contact listed by the best-ranked document (of the asked place, when `wanted` names its
    documents), quoted from its contact line; None when no such document lists one."""
    for hit in hits:
        doc_id = hit.clause.doc_id
        contacts = sources.contacts_of(doc_id)
        if (wanted and doc_id not in wanted) or not contacts:
            continue
        contact = contacts[0]
        clause = sources.clause_at(doc_id, contact.start, contact.end) or hit.clause
        citation = sources.citation(1, clause, contact.start, contact.end)
        title = sources.index.documents[doc_id].title
        text = messages.listed_contact(title, messages.who(contact.organisation, contact.name), contact.phone,
                                       citation.quote)
        return Answer(intent.question, text, False, intent.script, [citation], [contact_card(contact, source_n=1)],
                      intent=intent, decision=replace(decision, route="answered", rule="contact"),
                      confidence="high", model=model)
    return None


def giving_a_number(options: list[Candidate], sources: Sources) -> list[Candidate]:
    """The candidates whose sentence gives a number or names a hotline (no contact line was listed)."""
    return [c for c in options if NUMBER_OR_HOTLINE.search(sources.text(c.clause.doc_id)[c.start:c.end])]
