"""The indexed documents as the answer rules read them: a document's text, the clause that holds a span, a
citation of a span, and the contacts a document lists."""

from __future__ import annotations

import re

from ..index import PolicyIndex
from ..ingest import Clause, Contact
from .records import Citation

# A mobile number: a person's own phone, offered only when an office is named with it (a volunteer's mobile in a
# news item is not a hotline).
MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")


def is_private(contact: Contact) -> bool:
    """Whether a contact is a person's own mobile with no office named: never offered as a consulting line."""
    return not contact.organisation and bool(MOBILE.match(re.sub(r"[\s-]", "", contact.phone)))


def contact_card(contact: Contact, **extra: object) -> dict:
    """A document's contact as answers carry it in `contacts` (the JSON contract), with where it came from."""
    return {**contact.card(), **extra}


class Sources:
    """Citations and contacts over an index's documents and clauses."""

    def __init__(self, index: PolicyIndex):
        self.index = index

    def text(self, doc_id: str) -> str:
        """The document's cleaned text: what every citation's offsets point into."""
        return self.index.documents[doc_id].text

    def citation(self, n: int, clause: Clause, start: int, end: int) -> Citation:
        """Citation [n] of text[start:end] of the clause's document."""
        quote = self.text(clause.doc_id)[start:end]
        return Citation(n, clause.doc_id, clause.title, clause.section, quote, clause.chunk_id, start, end)

    def whole_clause(self, n: int, clause: Clause) -> Citation:
        """Citation [n] of a whole clause (related reading)."""
        return self.citation(n, clause, clause.start, clause.end)

    def clause_at(self, doc_id: str, start: int, end: int) -> Clause | None:
        """The document's clause that holds text[start:end], or None when none holds all of it."""
        for row in self.index.doc_rows.get(doc_id, ()):
            clause = self.index.clauses[row]
            if clause.start <= start and end <= clause.end:
                return clause
        return None

    def contacts_of(self, doc_id: str) -> list[Contact]:
        """The contact lines the document lists that reach an office, in order (a private mobile left out)."""
        return [c for c in self.index.documents[doc_id].contact_list if not is_private(c)]

    def on_contact_line(self, doc_id: str, start: int, end: int) -> bool:
        """Whether text[start:end] of the document reaches into one of its contact lines, or is the line right
        above one that names its office (咨询部门:… over 咨询电话:…)."""
        text = self.text(doc_id)
        return any((start < c.end and c.start < end)
                   or (0 <= c.start - end <= 1 and c.organisation and c.organisation in text[start:end])
                   for c in self.index.documents[doc_id].contact_list)

    def holds_contact(self, clause: Clause) -> bool:
        """Whether a contact line of its document starts inside the clause."""
        return any(clause.start <= c.start < clause.end for c in self.contacts_of(clause.doc_id))

    def cited_contacts(self, citations: list[Citation]) -> list[dict]:
        """The contacts of the cited documents, each phone number once, with the citation it came with."""
        contacts, seen = [], set()
        for citation in citations:
            for contact in self.contacts_of(citation.doc_id):
                if contact.phone not in seen:
                    seen.add(contact.phone)
                    contacts.append(contact_card(contact, source_n=citation.n))
        return contacts
