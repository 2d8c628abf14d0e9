"""What the answer stage returns: an answer, the citations it quotes, and the typed decision behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from ..text import to_traditional
from .intent import Intent

# How a reply came about. Welcome and empty are replies to messages that asked nothing (refused, no search).
Route = Literal["answered", "hedged", "refused", "welcome", "empty"]
# The rule that wrote an answer: a scored sentence quoted, a document's contact line, a responsibility note,
# a document's date, one quote per place, or a reviewed staff answer (rag/staff/serving.py).
Rule = Literal["scored", "contact", "departments", "issue_date", "compare", "official"]
# Why a refusal refused: only places without documents, no date, no contact, no department, nothing found.
Reason = Literal["place", "date", "contact", "duty", "absent"]


@dataclass(frozen=True)
class Decision:
    """Why an answer says what it says, for staff, tests and the app's presentation (never in the JSON)."""

    route: Route
    kind: str | None = None  # the question's kind (Intent.kind), "compare" for a question about several places
    rule: Rule | None = None
    refused_because: Reason | None = None
    probability: float | None = None  # the best sentence's, rounded to 4 places, once sentences were scored
    terms: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    foreign: tuple[str, ...] = ()  # the named places no document here is of
    llm_error: str | None = None  # the exception's name when the LLM call failed
    llm_dropped: tuple[str, ...] | None = None  # the LLM's sentences no cited clause supports

    @property
    def asked(self) -> bool:
        """Whether the message asked something (a refusal did; a greeting or an empty message did not)."""
        return self.route not in ("welcome", "empty")


@dataclass(frozen=True)
class Citation:
    """A quoted span of a document, marked [n] in the answer: its clause, title, section and offsets in the text."""

    n: int
    doc_id: str
    title: str
    section: str
    quote: str  # an exact substring of the cleaned document text: text[start:end]
    chunk_id: str
    start: int
    end: int
    issued: str | None = None  # how the document's issue date reads in an answer: 2020年2月印发

    def to_dict(self, script: str = "zh-Hans", variant: str = "s2tw") -> dict:
        """The citation as JSON fields; for zh-Hant also display_* copies of title, section and quote in Traditional."""
        data = asdict(self)
        if script == "zh-Hant":  # what the asker reads; `quote` stays verifiable against the source
            data.update(display_title=to_traditional(self.title, variant),
                        display_section=to_traditional(self.section, variant),
                        display_quote=to_traditional(self.quote, variant))
        return data


@dataclass
class Answer:
    """A reply to one question: the text, whether it refused, its citations, contacts and related reading, and why."""

    question: str
    answer: str
    refused: bool
    script: str
    citations: list[Citation] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    resolved_question: str | None = None
    intent: Intent | None = None
    latency_ms: int = 0
    mode: str = "extractive"
    variant: str = "s2tw"  # the Traditional variant used when script is zh-Hant
    notice: str | None = None  # told to the asker besides the answer, e.g. that a long question was cut
    decision: Decision = field(default_factory=lambda: Decision("answered"))  # set by whoever writes the answer
    confidence: str | None = None  # high | low (hedged) for scored answers
    probability: float | None = None  # the answer scorer's probability for the quoted sentence
    model: str | None = None  # the answer scorer's version (and the reader's, joined by +)
    short_answer: Citation | None = None  # the fact itself: the reader's span, an exact slice of the text
    official: dict | None = None  # a reviewed staff answer served: {"id", "approved_at"} (mode "official")

    def in_script(self, text: str) -> str:
        """`text` in the asker's script: Traditional (their variant) when they wrote Traditional."""
        return to_traditional(text, self.variant) if self.script == "zh-Hant" else text

    def to_dict(self, question_id: str | None = None) -> dict:
        """The answer in the `policy-rag ask --json` contract (optional fields only when they are set)."""
        data = {
            "id": question_id, "question": self.question, "answer": self.answer, "refused": self.refused,
            "script": self.script, "citations": [c.to_dict(self.script, self.variant) for c in self.citations],
            "contacts": self.contacts, "latency_ms": self.latency_ms,
            "related": [c.to_dict(self.script, self.variant) for c in self.related], "mode": self.mode,
        }
        if self.resolved_question and self.resolved_question != self.question:
            data["resolved_question"] = self.resolved_question
        if self.notice:
            data["notice"] = self.notice
        if self.short_answer:
            s = self.short_answer
            data["short_answer"] = {"text": s.quote, "doc_id": s.doc_id, "start": s.start, "end": s.end}
            if self.script == "zh-Hant":
                data["short_answer"]["display_text"] = to_traditional(s.quote, self.variant)
        if self.official:
            data["official"] = dict(self.official)
        if self.model:
            data.update(model=self.model, confidence=self.confidence,
                        probability=None if self.probability is None else round(self.probability, 4))
        return data
