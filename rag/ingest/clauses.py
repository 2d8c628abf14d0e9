"""Chunk: sections -> clauses, the unit that is embedded, retrieved and cited.

A clause is the text of one numbered section, an exact slice `text[start:end]` of the cleaned document,
so any quote taken from it is a substring of the source. A heading with no text of its own joins the
clause below it (or, when the next section is not inside it, the one above). A clause longer than the
embedding window is split on sentence ends; its pieces keep the section path and the departments.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .responsibility import responsibility_of
from .sections import Section, parse_sections

SECTION_SEPARATOR = " › "
# Paragraphs first, then sentence ends, then clause breaks: never cut inside a sentence when avoidable.
SPLIT_SEPARATORS = ["\n", "。", "！", "？", "；", ";", "，", ","]


@dataclass(frozen=True)
class Clause:
    """One clause (or piece of a long one): its id, document, section path, text, offsets and departments."""

    chunk_id: str
    doc_id: str
    title: str
    section_path: tuple[str, ...]
    text: str
    start: int
    end: int
    lead_departments: tuple[str, ...] = ()
    supporting_departments: tuple[str, ...] = ()
    part: int = 1  # 1-based piece number when a long clause was split
    parts: int = 1

    @property
    def section(self) -> str:
        """The section path joined with " › " ("" before the first heading)."""
        return SECTION_SEPARATOR.join(self.section_path)

    def passage(self, header: bool = True) -> str:
        """The text embedded, BM25-indexed and scored for this clause: the document title and section path, then
        the clause. A clause alone often says 本市 or 该项 and leaves the reader to know which plan it is in."""
        if not header:
            return self.text
        heading = f"{self.title}{SECTION_SEPARATOR}{self.section}" if self.section else self.title
        return f"{heading}\n{self.text}"

    @property
    def duties(self) -> str:
        """牵头：…；配合：… as every view shows them ("" when the clause names no department)."""
        if not (self.lead_departments or self.supporting_departments):
            return ""
        return f"牵头：{'、'.join(self.lead_departments) or '—'}；配合：{'、'.join(self.supporting_departments) or '—'}"

    def to_dict(self) -> dict:
        """The clause as JSON fields, tuples as lists, plus the joined `section`."""
        data = asdict(self)
        data["section_path"] = list(self.section_path)
        data["section"] = self.section
        data["lead_departments"] = list(self.lead_departments)
        data["supporting_departments"] = list(self.supporting_departments)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Clause:
        """The clause a `to_dict` record describes; keys that are not fields (`section`) are ignored."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("section_path", "lead_departments", "supporting_departments"):
            fields[key] = tuple(fields.get(key) or ())
        return cls(**fields)


def _is_inside(child: tuple[str, ...], parent: tuple[str, ...]) -> bool:
    return len(child) > len(parent) and child[: len(parent)] == parent


def clause_spans(sections: list[Section], min_chars: int = 40) -> list[tuple[tuple[str, ...], int, int]]:
    """(path, start, end) of every clause, with heading-only sections folded into a neighbour. A preamble
    that is only a title line joins the first clause too: alone it matches every question about its
    document and answers none."""
    spans: list[list] = []
    carried: int | None = None  # start of headings waiting for the clause below them
    for index, section in enumerate(sections):
        following = sections[index + 1] if index + 1 < len(sections) else None
        if not section.path and section.end - section.start < min_chars and following is not None:
            carried = section.start
            continue
        if section.heading_only and following is not None:
            if _is_inside(following.path, section.path):
                carried = section.start if carried is None else carried
                continue
            if spans and carried is None:
                spans[-1][2] = section.end
                continue
        start = section.start if carried is None else carried
        spans.append([section.path, start, section.end])
        carried = None
    return [(path, start, end) for path, start, end in spans]


@lru_cache(maxsize=8)
def _splitter(max_chars: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        separators=SPLIT_SEPARATORS, keep_separator="end", chunk_size=max_chars, chunk_overlap=0,
        strip_whitespace=True,
    )


def split_span(text: str, start: int, max_chars: int, min_chars: int) -> list[tuple[int, int]]:
    """Offsets of the pieces of one clause; a short tail joins the piece before it."""
    if len(text) <= max_chars:
        return [(start, start + len(text))]
    pieces: list[list[int]] = []
    cursor = 0
    for piece in _splitter(max_chars).split_text(text):
        at = text.index(piece, cursor)
        pieces.append([at, at + len(piece)])
        cursor = at + len(piece)
    # A fragment (a heading line, a closing phrase) joins its neighbour in the same clause.
    merged: list[list[int]] = []
    for piece in pieces:
        if merged and merged[-1][1] - merged[-1][0] < min_chars:
            merged[-1][1] = piece[1]
        else:
            merged.append(piece)
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < min_chars:
        tail = merged.pop()
        merged[-1][1] = tail[1]
    pieces = merged
    # Pieces are contiguous: whatever the splitter trimmed between them belongs to the earlier one.
    for left, right in zip(pieces, pieces[1:]):
        left[1] = right[0]
    return [(start + a, start + b) for a, b in pieces]


def chunk_id(doc_id: str, section: str, text: str) -> str:
    """`doc_id:` and a hash of section and text: it depends on the clause alone, so editing one clause leaves the
    others' citations valid."""
    digest = hashlib.sha1(f"{doc_id}\n{section}\n{text}".encode()).hexdigest()[:12]
    return f"{doc_id}:{digest}"


def build_clauses(doc_id: str, title: str, text: str, max_chars: int = 400, min_chars: int = 40) -> list[Clause]:
    """The clauses of a cleaned document, in order, long ones split into pieces of at most about `max_chars`."""
    clauses: list[Clause] = []
    seen: set[str] = set()
    for path, start, end in clause_spans(parse_sections(text), min_chars):
        body = text[start:end]
        while body and body[-1] == "\n":
            end -= 1
            body = body[:-1]
        if not body.strip():
            continue
        duty = responsibility_of(body)
        pieces = split_span(body, start, max_chars, min_chars)
        section = SECTION_SEPARATOR.join(path)
        for number, (a, b) in enumerate(pieces, 1):
            piece = text[a:b].rstrip("\n")
            b = a + len(piece)
            # A piece that names its own departments (a section of several tasks) keeps those.
            own = responsibility_of(piece) if len(pieces) > 1 else duty
            piece_duty = own if own else duty
            cid = chunk_id(doc_id, section, piece)
            while cid in seen:  # the same words twice in one section: keep ids unique and stable
                cid += "+"
            seen.add(cid)
            clauses.append(
                Clause(cid, doc_id, title, path, piece, a, b, piece_duty.lead, piece_duty.supporting, number,
                       len(pieces))
            )
    return clauses
